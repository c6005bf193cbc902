import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'net';
import { IMServer, isIMWorker, runIMWorkers } from '../lib';
import { AppConfig, configFromEnv } from './app.config';
import { AppModule } from './app.module';
import { answerMetricsRequests, serveWorkerMetrics } from './admin/worker-metrics';
import { logColors, logLevels, StderrLogger } from './logger';

const logger = (config: AppConfig) => new StderrLogger({ logLevels: logLevels(), colors: logColors(), json: config.logFormat === 'json' });

/** Creates the app and binds every listener; a busy port rejects here. */
async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.register(config), { logger: logger(config) });
  // listen() runs the bootstrap hooks, which bind the IM listeners too.
  if (config.host) await app.listen(config.httpPort, config.host);
  else await app.listen(config.httpPort);
  if (config.demo && !isIMWorker()) Logger.log(`IM_DEMO=${config.demo}: behaving like the MobileIMSDK demo server`, 'Bootstrap');
  return app;
}

/** The one line scripts wait for, on stdout, written directly so no logger formatting touches it. */
function printReady(ports: { tcp?: number; udp?: number; ws?: number }, http: number | undefined, workers?: number): void {
  process.stdout.write(`nestjs-im ready tcp=${ports.tcp} udp=${ports.udp} ws=${ports.ws} http=${http}${workers ? ` workers=${workers}` : ''}\n`);
}

async function bootstrap(): Promise<void> {
  const config = configFromEnv();
  if ((config.workers ?? 1) > 1) {
    // The primary runs no app: it only logs, on stderr like the workers.
    Logger.overrideLogger(logger(config));
    // /metrics in any worker answers for all of them, gathered here.
    serveWorkerMetrics();
    const clean = await runIMWorkers({
      workers: config.workers,
      // UDP on worker 0 only: the primary would hand one peer's datagrams to any worker.
      bootstrap: ({ index }) => {
        answerMetricsRequests();
        return createApp({ ...config, udpPort: index === 0 ? config.udpPort : false });
      },
      onReady: (workers) => printReady({ ...workers[0].ports, udp: workers.find((w) => w.ports.udp !== undefined)?.ports.udp }, workers[0].http, workers.length),
    });
    process.exit(clean ? 0 : 1);
  }
  const app = await createApp(config);
  // SIGTERM/SIGINT close the IM listeners and sessions cleanly.
  app.enableShutdownHooks();
  const im = await app.get(IMServer).ready;
  printReady(im, (app.getHttpServer().address() as AddressInfo).port);
}

bootstrap().catch((err: unknown) => {
  console.error('nestjs-im sample failed to start:', err);
  process.exit(1);
});
