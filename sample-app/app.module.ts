import { DynamicModule, Module, Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { IMAdminService, IMHealthIndicator, IMModule, IMModuleOptions } from '../lib';
import { AdminAuthModule } from './admin/admin-auth.module';
import { AdminController } from './admin/admin.controller';
import { HealthController } from './admin/health.controller';
import { MetricsController } from './admin/metrics.controller';
import { APP_CONFIG, AppConfig } from './app.config';
import { BlockListService } from './contacts/block-list.service';
import { ChatHandlers } from './im/chat.handlers';
import { ReferenceHandlers } from './im/reference.handlers';
import { OfflineStore } from './offline/offline.store';
import { PushController } from './push/push.controller';
import { UsersService } from './users/users.service';
import { WebController } from './web/web.controller';

/**
 * `IM_DEMO=reference` relaxes the limits for connections that have not logged
 * in, so that the reference demo's recorded behaviour (idle anonymous sessions,
 * echo before login, 301 quoting the packet over UDP) replays unchanged. A
 * public deployment keeps the defaults.
 */
const REFERENCE_DEMO_LIMITS = { loginTimeoutMs: 120_000, anonymousPacketsPerSecond: 200, anonymousBurst: 400 };
const REFERENCE_DEMO_REPLY_RATIO = 8;

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
    udp: config.udpPort !== false && {
      port: config.udpPort, host, ...(host?.includes(':') ? { ipv6: true } : {}),
      // The demo server answers a stranger's keepalive with the full 301, as the reference does.
      ...(config.demo === 'reference' ? { maxReplyRatio: REFERENCE_DEMO_REPLY_RATIO } : {}),
    },
    ...(config.demo === 'reference' ? { limits: REFERENCE_DEMO_LIMITS } : {}),
    ...(config.redisUrl ? { cluster: { redis: config.redisUrl } } : {}),
    ...(config.bridge ? { bridge: config.bridge } : {}),
    // On prom-client's global registry, which PrometheusModule's /metrics serves.
    metrics: config.metricsPrefix ? { prefix: config.metricsPrefix } : true,
  };
}

/** `AppModule.register(config)`: main.ts passes the environment's config, tests pass ports 0. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    const providers: Provider[] = [{ provide: APP_CONFIG, useValue: config }, IMAdminService, IMHealthIndicator];
    if (config.demo === 'reference') {
      providers.push(ReferenceHandlers);
    } else {
      providers.push(UsersService, OfflineStore, BlockListService, ChatHandlers);
    }
    return {
      module: AppModule,
      imports: [
        IMModule.forRoot(imOptions(config)),
        AdminAuthModule.forRoot(config.adminToken),
        // Process metrics stay off: collectDefaultMetrics registers globally once per process.
        PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: false } }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [PushController, WebController, AdminController, HealthController],
      providers,
    };
  }
}
