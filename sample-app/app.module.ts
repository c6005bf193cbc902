import { DynamicModule, Module, Provider } from '@nestjs/common';
import { IMModule, IMModuleOptions } from '../lib';
import { APP_CONFIG, AppConfig } from './app.config';
import { BlockListService } from './contacts/block-list.service';
import { ChatHandlers } from './im/chat.handlers';
import { ReferenceHandlers } from './im/reference.handlers';
import { OfflineStore } from './offline/offline.store';
import { PushController } from './push/push.controller';
import { UsersService } from './users/users.service';
import { WebController } from './web/web.controller';

/**
 * IM transport options. The sense modes are the MobileIMSDK demo's: clients
 * (and the chat page) send a keepalive every 5 s on TCP/WS, so an 11 s idle
 * timeout; UDP keeps the library default.
 */
export function imOptions(config: AppConfig): IMModuleOptions {
  const host = config.host;
  return {
    tcp: { port: config.tcpPort, host, senseMode: '5S' },
    ws: { port: config.wsPort, host, senseMode: '5S' },
    udp: { port: config.udpPort, host, ...(host?.includes(':') ? { ipv6: true } : {}) },
    ...(config.redisUrl ? { cluster: { redis: config.redisUrl } } : {}),
    ...(config.bridge ? { bridge: config.bridge } : {}),
  };
}

/** `AppModule.register(config)`: main.ts passes the environment's config, tests pass ports 0. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    const providers: Provider[] = [{ provide: APP_CONFIG, useValue: config }];
    if (config.demo === 'reference') {
      providers.push(ReferenceHandlers);
    } else {
      providers.push(UsersService, OfflineStore, BlockListService, ChatHandlers);
    }
    return {
      module: AppModule,
      imports: [IMModule.forRoot(imOptions(config))],
      controllers: [PushController, WebController],
      providers,
    };
  }
}
