import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'net';
import { IMServer } from '../lib';
import { configFromEnv } from './app.config';
import { AppModule } from './app.module';
import { logColors, logLevels, StderrLogger } from './logger';

async function bootstrap(): Promise<void> {
  const config = configFromEnv();
  const app = await NestFactory.create(AppModule.register(config), {
    logger: new StderrLogger({ logLevels: logLevels(), colors: logColors(), json: config.logFormat === 'json' }),
  });
  // SIGTERM/SIGINT close the IM listeners and sessions cleanly.
  app.enableShutdownHooks();
  // listen() runs the bootstrap hooks, which bind the IM listeners too; a busy port rejects here.
  if (config.host) await app.listen(config.httpPort, config.host);
  else await app.listen(config.httpPort);
  const im = await app.get(IMServer).ready;
  const http = (app.getHttpServer().address() as AddressInfo).port;
  if (config.demo) Logger.log(`IM_DEMO=${config.demo}: behaving like the MobileIMSDK demo server`, 'Bootstrap');
  // The one line scripts wait for, on stdout, written directly so no logger formatting touches it.
  process.stdout.write(`nestjs-im ready tcp=${im.tcp} udp=${im.udp} ws=${im.ws} http=${http}\n`);
}

bootstrap().catch((err: unknown) => {
  console.error('nestjs-im sample failed to start:', err);
  process.exit(1);
});
