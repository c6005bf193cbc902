/**
 * nestjs-im as a benchmark target, in its own process:
 *   node dist/bench/server.js [--host 127.0.0.1] [--tcp 8901] [--ws 3000] [--udp 7901] [--push 8902]
 *                             [--transports tcp,ws,udp] [--lifetime 3600] [--default-limits]
 * (or BENCH_HOST, BENCH_TCP_PORT, BENCH_WS_PORT, BENCH_UDP_PORT, BENCH_PUSH_PORT, BENCH_DEFAULT_LIMITS=1;
 * BENCH_METRICS=1 turns the Prometheus metrics on, to measure what they cost). Every login is
 * accepted, logs are at warn. Abuse limits are raised for load, unless --default-limits keeps the
 * library's defaults (the abuse scenario measures the server as shipped). Prints
 * `BENCH-SERVER READY {"pid":…,"tcp":…,"ws":…,"udp":…,"push":…}` (and sends it over IPC when forked).
 * The push port serves GET /push?count=N&prefix=p&bytes=100 (PushService.sendMany to p0…p{N-1}),
 * GET /broadcast?bytes=100, GET /stats (online users, open sessions, RSS, counters), and GET /gc (a full GC when started with --expose-gc, then the RSS).
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as http from 'http';
import { DeliveryResult, IMModule, IMServer, OnLogin, PushService } from '../lib';
import { IMCore } from '../lib/core/im-core';
import { Args } from './lib/args';
import { processRssKb } from './lib/proc';
import { READY_MARKER } from './lib/targets';

const args = new Args(process.argv.slice(2));
const env = process.env;
const host = args.str('host', env.BENCH_HOST ?? '127.0.0.1');
const port = (name: string, envName: string, dflt: number) => args.num(name, Number(env[envName] ?? dflt));
const transports = new Set(args.str('transports', 'tcp,ws,udp').split(','));
const defaultLimits = args.flag('default-limits') || env.BENCH_DEFAULT_LIMITS === '1';

@Injectable()
class AcceptEveryLogin {
  @OnLogin()
  accept(): number {
    return 0;
  }
}

@Module({
  imports: [
    IMModule.forRoot({
      tcp: transports.has('tcp') && { host, port: port('tcp', 'BENCH_TCP_PORT', 8901) },
      ws: transports.has('ws') && { host, port: port('ws', 'BENCH_WS_PORT', 3000) },
      udp: transports.has('udp') && { host, port: port('udp', 'BENCH_UDP_PORT', 7901) },
      // Load, not abuse: the generators send far past a user's rate and log thousands in
      // from a handful of source addresses, so those limits are raised (not with --default-limits).
      ...(defaultLimits ? {} : { limits: { packetsPerSecond: 1e6, burst: 1e6, controlPacketsPerSecond: 1e6, controlBurst: 1e6, maxQueuedPackets: 1e5, maxUnauthenticatedPerAddress: 1e5, maxUnauthenticated: 1e5 } }),
      metrics: env.BENCH_METRICS === '1',
    }),
  ],
  providers: [AcceptEveryLogin],
})
class BenchServerModule {}

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

async function main(): Promise<void> {
  const lifetimeS = args.num('lifetime', 3600);
  setTimeout(() => {
    console.error(`bench server: lifetime of ${lifetimeS} s is over; exiting`);
    process.exit(2);
  }, lifetimeS * 1000).unref();

  const app = await NestFactory.createApplicationContext(BenchServerModule, { logger: ['error', 'warn'] });
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
