/**
 * nestjs-im as a benchmark target, in its own process:
 *   node dist/bench/server.js [--host 127.0.0.1] [--tcp 8901] [--ws 3000] [--udp 7901] [--push 8902]
 *                             [--transports tcp,ws,udp] [--lifetime 3600] [--default-limits] [--store memory|off|redis://H:P]
 *                             [--workers N --redis redis://127.0.0.1:PORT] [--node-id a]
 * (or BENCH_HOST, BENCH_TCP_PORT, BENCH_WS_PORT, BENCH_UDP_PORT, BENCH_PUSH_PORT, BENCH_DEFAULT_LIMITS=1;
 * BENCH_METRICS=1 turns the Prometheus metrics on, to measure what they cost). Every login is
 * accepted, logs are at warn. Abuse limits are raised for load, unless --default-limits keeps the
 * library's defaults (the abuse scenario measures the server as shipped). Prints
 * `BENCH-SERVER READY {"pid":…,"tcp":…,"ws":…,"udp":…,"push":…}` (and sends it over IPC when forked).
 * The push port serves GET /push?count=N&prefix=p&bytes=100 (PushService.sendMany to p0…p{N-1}),
 * GET /broadcast?bytes=100, GET /stats (online users, open sessions, RSS, counters), and GET /gc (a full GC when started with --expose-gc, then the RSS).
 * With --workers N (N > 1) it runs N workers through `runIMWorkers`, each a cluster node on --redis,
 * sharing the TCP and WebSocket ports (UDP on worker 0); there is no push port, the ready line adds
 * the workers' pids, and the IPC command { kind: 'gc' } answers { kind: 'gc-result', data: WorkerReading[] }.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as http from 'http';
import cluster from 'cluster';
import { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { DeliveryResult, IMModule, IMServer, isIMWorker, OnLogin, PushService, runIMWorkers } from '../lib';
import { IMCore } from '../lib/core/im-core';
import { Args } from './lib/args';
import { processRssKb } from './lib/proc';
import { READY_MARKER, WorkerReading } from './lib/targets';

const args = new Args(process.argv.slice(2));
const env = process.env;
const host = args.str('host', env.BENCH_HOST ?? '127.0.0.1');
const port = (name: string, envName: string, dflt: number) => args.num(name, Number(env[envName] ?? dflt));
const transports = new Set(args.str('transports', 'tcp,ws,udp').split(','));
const defaultLimits = args.flag('default-limits') || env.BENCH_DEFAULT_LIMITS === '1';
const storeArg = args.str('store', env.BENCH_STORE ?? 'memory');
const store = storeArg === 'memory' ? 'memory' as const : storeArg === 'off' ? false as const : { redis: storeArg, keyPrefix: 'bench:' };
const workers = args.num('workers', 1);
const redisUrl = args.str('redis', '') || undefined;
// One process with --redis (and --node-id): a cluster node (the cross-node scenario starts two).
const nodeId = args.str('node-id', '') || undefined;

@Injectable()
class AcceptEveryLogin {
  @OnLogin()
  accept(): number {
    return 0;
  }
}

@Module({})
class BenchServerModule {
  /** `udp: false` for the workers after the first; `redis`: a cluster node. */
  static register(o: { udp: boolean; redis?: string; nodeId?: string }): DynamicModule {
    return {
      module: BenchServerModule,
      imports: [
        IMModule.forRoot({
          tcp: transports.has('tcp') && { host, port: port('tcp', 'BENCH_TCP_PORT', 8901) },
          ws: transports.has('ws') && { host, port: port('ws', 'BENCH_WS_PORT', 3000) },
          udp: o.udp && transports.has('udp') && { host, port: port('udp', 'BENCH_UDP_PORT', 7901) },
          // Load, not abuse: the generators send far past a user's rate and log thousands in
          // from a handful of source addresses, so those limits are raised (not with --default-limits).
          ...(defaultLimits ? {} : { limits: { packetsPerSecond: 1e6, burst: 1e6, controlPacketsPerSecond: 1e6, controlBurst: 1e6, maxQueuedPackets: 1e5, maxUnauthenticatedPerAddress: 1e5, maxUnauthenticated: 1e5 } }),
          ...(o.redis ? { cluster: { redis: o.redis, nodeId: o.nodeId } } : {}),
          metrics: env.BENCH_METRICS === '1',
          store,
        }),
      ],
      providers: [AcceptEveryLogin],
    };
  }
}


/** Counts results by status. */
function tally(results: DeliveryResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** The push trigger: runs a PushService call and answers with its timing and results. */
function pushTrigger(push: PushService, core: IMCore): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bench');
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const bytes = Number(url.searchParams.get('bytes') ?? 100);
    const data = 'p'.repeat(bytes);
    let run: () => Promise<DeliveryResult[]>;
    if (url.pathname === '/push') {
      const count = Number(url.searchParams.get('count') ?? 0);
      const prefix = url.searchParams.get('prefix') ?? 'p';
      const userIds = Array.from({ length: count }, (_, i) => prefix + i);
      run = () => push.sendMany(userIds, data);
    } else if (url.pathname === '/broadcast') {
      run = () => push.broadcast(data);
    } else if (url.pathname === '/gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      return reply(200, { gc: !!gc, rssKb: processRssKb(process.pid), heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024) });
    } else if (url.pathname === '/stats') {
      return reply(200, { online: push.onlineCount, sessions: core.sessionCount, rssKb: processRssKb(process.pid), stats: push.stats });
    } else {
      return reply(404, { error: 'unknown path' });
    }
    const t0 = performance.now();
    run().then(
      (results) => reply(200, { users: results.length, fp: results[0]?.fp, elapsedMs: performance.now() - t0, statuses: tally(results) }),
      (err: Error) => reply(500, { error: err.message }),
    );
  });
}

/** Multi-worker mode: the primary forwards the orchestrator's GC request to every worker and gathers the readings. */
async function mainWorkers(): Promise<void> {
  if (!redisUrl) throw new Error('--workers needs --redis');
  const bootstrap = async ({ index }: { index: number }): Promise<INestApplicationContext> => {
    const app = await NestFactory.createApplicationContext(BenchServerModule.register({ udp: index === 0, redis: redisUrl }), { logger: ['error', 'warn'] });
    await app.init();
    process.on('message', (m: { bench?: string }) => {
      if (m?.bench !== 'gc') return;
      (globalThis as { gc?: () => void }).gc?.();
      const push = app.get(PushService);
      push.onlineCountAnywhere().catch(() => undefined).then((onlineAnywhere) => {
        const { idleTimeouts, kicks, fdLimitRefused, loginTimeouts } = push.stats;
        const reading: WorkerReading = {
          pid: process.pid, rssKb: processRssKb(process.pid), sessions: app.get(IMCore).sessionCount, online: push.onlineCount, onlineAnywhere,
          closes: { idleTimeouts, kicks, fdLimitRefused, loginTimeouts },
        };
        process.send?.({ bench: 'gc-result', reading });
      });
    });
    return app;
  };
  if (isIMWorker()) {
    await runIMWorkers({ workers, bootstrap });
    return;
  }
  process.on('message', (m: { kind?: string }) => {
    if (m?.kind !== 'gc') return;
    const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    const readings: WorkerReading[] = [];
    for (const w of all) {
      const onReading = (r: { bench?: string; reading: WorkerReading }) => {
        if (r?.bench !== 'gc-result') return;
        w.off('message', onReading);
        readings.push(r.reading);
        if (readings.length === all.length) process.send?.({ kind: 'gc-result', data: readings });
      };
      w.on('message', onReading);
      w.send({ bench: 'gc' });
    }
  });
  // The orchestrator gone or the lifetime over: drain the workers like a SIGTERM would.
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const clean = await runIMWorkers({
    workers,
    bootstrap,
    onReady: (ready) => {
      const data = { pid: process.pid, tcp: ready[0].ports.tcp, ws: ready[0].ports.ws, udp: ready[0].ports.udp, workers: ready.map((r) => r.pid) };
      console.log(`${READY_MARKER} ${JSON.stringify(data)}`);
      process.send?.({ kind: 'ready', data });
    },
  });
  process.exit(clean ? 0 : 1);
}

async function main(): Promise<void> {
  // A worker's life is the primary's business (it drains the workers when its lifetime is over).
  if (isIMWorker()) return mainWorkers();
  const lifetimeS = args.num('lifetime', 3600);
  setTimeout(() => {
    console.error(`bench server: lifetime of ${lifetimeS} s is over; exiting`);
    if (workers > 1) process.kill(process.pid, 'SIGTERM');
    else process.exit(2);
  }, lifetimeS * 1000).unref();
  if (workers > 1) return mainWorkers();

  const app = await NestFactory.createApplicationContext(BenchServerModule.register({ udp: true, redis: redisUrl, nodeId }), { logger: ['error', 'warn'] });
  const ports = await app.get(IMServer).ready;
  const trigger = pushTrigger(app.get(PushService), app.get(IMCore));
  await new Promise<void>((resolve) => trigger.listen(port('push', 'BENCH_PUSH_PORT', 8902), host, resolve));
  const pushPort = (trigger.address() as { port: number }).port;

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 5000).unref();
    trigger.close();
    app.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);

  const ready = { pid: process.pid, ...ports, push: pushPort };
  console.log(`${READY_MARKER} ${JSON.stringify(ready)}`);
  process.send?.({ kind: 'ready', data: ready });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
