/**
 * A minimal IM server process for the crash tests (`test/e2e/crash-safety.e2e-spec.ts`):
 * TCP only, every login accepted, the Redis message store, optionally the
 * Redis cluster. Prints one line `{"tcp":<port>}` once it listens.
 * Env: IM_REDIS_URL (required), IM_STORE_PREFIX, IM_CLUSTER=1, IM_NODE_ID.
 * Run: node -r ./test/support/ts-register.js test/support/store-server.ts
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IMModule, IMServer, OnLogin } from '../../lib';

@Injectable()
class AcceptAll {
  @OnLogin()
  login(): number {
    return 0;
  }
}

async function main(): Promise<void> {
  const redis = process.env.IM_REDIS_URL;
  if (!redis) throw new Error('IM_REDIS_URL is required');
  @Module({
    imports: [
      IMModule.forRoot({
        tcp: { port: 0, host: '127.0.0.1' },
        udp: false,
        ws: false,
        store: { redis, keyPrefix: process.env.IM_STORE_PREFIX ?? 'crash:' },
        ...(process.env.IM_CLUSTER === '1' ? { cluster: { redis, nodeId: process.env.IM_NODE_ID } } : {}),
      }),
    ],
    providers: [AcceptAll],
  })
  class StoreServerModule {}
  const app = await NestFactory.createApplicationContext(StoreServerModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const ports = await app.get(IMServer).ready;
  process.stdout.write(`${JSON.stringify({ tcp: ports.tcp })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
