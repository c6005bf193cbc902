import { Injectable, Module } from '@nestjs/common';
import { IMModule, OnLogin } from 'nestjs-im';
// A type in a decorated signature: `import type` keeps isolatedModules + emitDecoratorMetadata happy.
import type { LoginInfo } from 'nestjs-im';

/** The application's own users; the IM login is checked against them. */
@Injectable()
export class UsersService {
  private readonly tokens = new Map([
    ['alice', 'alice-token'],
    ['bob', 'bob-token'],
  ]);

  checkToken(userId: string, token: string | undefined): boolean {
    return token !== undefined && this.tokens.get(userId) === token;
  }
}

/** Login code the app answers a wrong token with (any number above 0 refuses). */
export const BAD_TOKEN = 1025;

@Injectable()
export class ChatHandlers {
  constructor(private readonly users: UsersService) {}

  @OnLogin()
  login(info: LoginInfo): number {
    return this.users.checkToken(info.loginUserId, info.loginToken) ? 0 : BAD_TOKEN;
  }
}

@Module({
  imports: [
    IMModule.forRoot({
      tcp: { port: 0, host: '127.0.0.1' },
      udp: false,
      ws: { port: 0, host: '127.0.0.1' },
    }),
  ],
  providers: [UsersService, ChatHandlers],
})
export class AppModule {}
