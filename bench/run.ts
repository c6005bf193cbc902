/**
 * nestjs-im benchmark suite.
 *
 *   npm run bench [-- --full]                 the standard set → bench/reports/latest.md
 *   node dist/bench/run.js <scenario> [opts]  one scenario, e.g. against another MobileIMSDK-compatible server:
 *   node dist/bench/run.js c2c --transport tcp --pairs 100 --window 10 --duration 15 --host 127.0.0.1 --port 8901 --pid <pid>
 *
 * Run with --help for the options.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { Args } from './lib/args';
import { profileTop } from './lib/cpu-profile';
import { Transport } from './lib/links';
import { BenchResults, renderReport } from './lib/report';
import { startBenchRedis } from './lib/redis';
import { externalTarget, startServer, Target } from './lib/targets';
import { WorkerGroup } from './lib/worker-io';
import { AbuseOptions, runAbuse, runAcceptFloor } from './scenarios/abuse';
import { runSoak, SoakOptions } from './scenarios/soak';
import { ConnectionsOptions, runConnections } from './scenarios/connections';
import { MessagingOptions, runMessaging } from './scenarios/messaging';
import { MessagingKind } from './scenarios/messaging-worker';
import { PushMode, PushOptions, runPush } from './scenarios/push';

const USAGE = `Usage:
  node dist/bench/run.js [--full] [--duration S] [--warmup S] [--server-prof]
      The standard set, written to bench/reports/latest.md. --full: 19,000 TCP and 19,000 WS
      connections (instead of 5,000 each) and TCP c2c with 1,000 pairs.
  node dist/bench/run.js <c2c|c2s|echo|relay|connections|push> [options]
      One scenario; the report is printed (and written with --out FILE).
  node dist/bench/run.js cross-node [--transport tcp] [--pairs 100 --window 10] [--rounds 1]
      C2C with every sender on node a and every receiver on node b (two bench servers on a private
      redis-server), next to the same run on one node; reports the cross-node / one-node ratio.
  node dist/bench/run.js connections-workers [--server-workers 2] [--count 38000] [--transport tcp]
      connections against nestjs-im as several worker processes (runIMWorkers), cluster nodes on a
      private redis-server the bench starts: past one process's 20,000 open files; not in the standard set.
  node dist/bench/run.js abuse [--duration S] [--rows 1,2,3]
      Issue 8's abuse rows against a server at the default limits, while a canary pair chats
      (about 3 × duration + 20 s); not part of the standard set.
  node dist/bench/run.js soak [--pairs 100] [--rate 5] [--duration 180] [--drop-every-ms 250] [--max-down-ms 20000]
      Issue 11's soak: QoS chat while clients lose their links and log in again; no ACKed message
      may go missing and the live heap must come back within 10%; not part of the standard set.
  node dist/bench/run.js profile-top <file.cpuprofile> [--limit 25]

Options:
  --transport tcp|ws|udp   (default tcp)
  --pairs N --window W     c2c pairs / c2s and echo clients; un-ACKed messages per sender (100, 10)
  --body BYTES             dataContent size (100)
  --warmup S --duration S --grace S    (3, 15, 5)
  --resend-ms MS --resends N   resend unACKed messages like the SDKs (3000, 2)
  --messages N             each sender sends N messages in all, e.g. a queue flushed after a reconnect (0: no limit)
  --workers N              generator processes for message scenarios (1)
  --count N --rate R --hold S --keepalive S --per-worker N   connections (5000, 2000/s, 15, 5, 5000;
                           connections-workers: 9,500 per generator, 4 generators for 38,000)
  --server-workers N       connections-workers: server processes (2); --count defaults to 38,000
  --users N --modes sendMany,broadcast     push (10000, sendMany,sendMany,broadcast)
  --no-relay               c2c: skip the bare relay run (TCP, same pairs and window) used for the ratio
  --with-relay             c2s/echo: run the bare relay with the same parameters too
  --host H --port P [--pid PID] [--ws-path P]   measure an external server (nothing is started);
                           --pid enables server CPU and RSS figures
  abuse: --duration S per row (20), --quiet S before and after (5), --rows 1,2,3, --canary-rate (50),
         --accounts N and --rate R (rows 1-2: 10 accounts, 190 packets/s each), --fp-chars N (row 2: 20000),
         --anon-count N --anon-rate R --anon-per-worker N --echo-every S (row 3: 20000, 2000/s, 5000, 3),
         --no-floor (skip replaying row 3 against a bare net.Server, bench/accept-floor-server.ts)
  --store memory|off|redis://H:P   the bench server's message store (memory); with Redis, QoS C2C is
                           written through the store before the sender's ACK (crash safety; README "Delivery guarantees")
  --default-limits         c2c/c2s/echo/push: the bench server keeps the library's default limits (rate, queue)
                           instead of raising them for load, as the sample app runs
  --server-prof            start the bench server with --cpu-prof (profiles in bench/reports/prof/)
  --generator-prof         start the generator processes with --cpu-prof (profiles in bench/reports/prof/gen/)
  --out FILE               also write the report to FILE`;

const args = new Args(process.argv.slice(2));
const projectRoot = path.resolve(__dirname, '..', '..');
const reportsDir = path.join(projectRoot, 'bench', 'reports');
const sec = (name: string, dflt: number) => args.num(name, dflt) * 1000;

function messagingOptions(kind: MessagingKind, overrides: Partial<MessagingOptions> = {}): MessagingOptions {
  return {
    kind,
    transport: args.str('transport', 'tcp') as Transport,
    pairs: args.num('pairs', 100),
    window: args.num('window', 10),
    bodyBytes: args.num('body', 100),
    warmupMs: sec('warmup', 3),
    durationMs: sec('duration', 15),
    graceMs: sec('grace', 5),
    resendMs: args.num('resend-ms', 3000),
    messages: args.num('messages', 0),
    maxResends: args.num('resends', 2),
    workers: args.num('workers', 1),
    keepaliveMs: sec('keepalive', 5),
    ...overrides,
  };
}

function connectionsOptions(transport: Transport, count: number, perWorker = 5000): ConnectionsOptions {
  return {
    transport,
    count,
    rate: args.num('rate', 2000),
    holdMs: sec('hold', 15),
    keepaliveMs: sec('keepalive', 5),
    perWorker: args.num('per-worker', perWorker),
  };
}

function pushOptions(): PushOptions {
  return {
    transport: args.str('transport', 'tcp') as Transport,
    users: args.num('users', 10_000),
    modes: args.str('modes', 'sendMany,sendMany,broadcast').split(',') as PushMode[],
    bodyBytes: args.num('body', 100),
    rate: args.num('rate', 2000),
    perWorker: args.num('per-worker', 2500),
    keepaliveMs: sec('keepalive', 5),
  };
}

function soakOptions(): SoakOptions {
  return {
    pairs: args.num('pairs', 100),
    workers: args.num('workers', 2),
    rate: args.num('rate', 5),
    durationMs: sec('duration', 180),
    dropEveryMs: args.num('drop-every-ms', 250),
    maxDownMs: args.num('max-down-ms', 20_000),
    settleMs: sec('settle', 60),
  };
}

function abuseOptions(): AbuseOptions {
  return {
    rowMs: sec('duration', 20),
    quietMs: sec('quiet', 5),
    rows: args.str('rows', '1,2,3').split(',').map(Number),
    canaryRate: args.num('canary-rate', 50),
    row1Accounts: args.num('accounts', 10),
    floodRate: args.num('rate', 190),
    // 16-65 KB fingerprints, inside a 64 KiB WebSocket message with the rest of the packet.
    row1FpMin: 16_000,
    row1FpMax: 65_000,
    row2FpChars: args.num('fp-chars', 20_000),
    anonCount: args.num('anon-count', 20_000),
    anonRate: args.num('anon-rate', 2000),
    anonPerWorker: args.num('anon-per-worker', 5000),
    echoEveryMs: sec('echo-every', 3),
    floor: !args.flag('no-floor'),
  };
}

if (args.flag('generator-prof')) WorkerGroup.execArgv = ['--cpu-prof', `--cpu-prof-dir=${path.join(reportsDir, 'prof', 'gen')}`];
const serverExecArgv = () => (args.flag('server-prof') ? ['--cpu-prof', `--cpu-prof-dir=${path.join(reportsDir, 'prof')}`] : []);

/** Runs `body` against a fresh bench server (or the external one given by --port). */
async function withServer<T>(kind: 'nestjs-im' | 'relay', lifetimeMs: number, body: (t: Target) => Promise<T>): Promise<T> {
  const port = args.num('port');
  const target =
    kind === 'nestjs-im' && port !== undefined
      ? externalTarget(args.str('host', '127.0.0.1'), { [args.str('transport', 'tcp')]: port, pid: args.num('pid'), push: args.num('push-port') }, args.str('ws-path', '/websocket'))
      : await startServer(kind, { lifetimeMs, execArgv: kind === 'relay' ? [] : serverExecArgv(), store: args.str('store', 'memory'), defaultLimits: args.flag('default-limits') });
  try {
    return await body(target);
  } finally {
    await target.stop();
  }
}

const messagingBudget = (o: MessagingOptions) => o.warmupMs + o.durationMs + o.graceMs + 120_000;

async function runSingle(scenario: string, res: BenchResults): Promise<void> {
  switch (scenario) {
    case 'c2c':
    case 'c2s':
    case 'echo':
    case 'relay': {
      const o = messagingOptions(scenario === 'relay' ? 'c2c' : scenario);
      // The relay speaks TCP only; other transports are compared with a TCP relay run of the same shape.
      const relayRun = scenario === 'relay' || args.flag('with-relay') || (scenario === 'c2c' && !args.flag('no-relay'));
      if (relayRun) res.messaging.push(await withServer('relay', messagingBudget(o), (t) => runMessaging(t, { ...o, transport: 'tcp' })));
      if (scenario !== 'relay') res.messaging.push(await withServer('nestjs-im', messagingBudget(o), (t) => runMessaging(t, o)));
      return;
    }
    case 'cross-node': {
      const o = messagingOptions('c2c');
      const lifetimeMs = messagingBudget(o);
      const redis = await startBenchRedis();
      try {
        // Alternating runs: the machine is shared, so one-node and cross-node figures are taken side by side.
        for (let round = 0; round < args.num('rounds', 1); round++) {
          const single = await withServer('nestjs-im', lifetimeMs, (t) => runMessaging(t, o));
          const nodes = await Promise.all(['a', 'b'].map((nodeId) => startServer('nestjs-im', { lifetimeMs, execArgv: serverExecArgv(), cluster: { redis: redis.url, nodeId } })));
          try {
            const across = await runMessaging(nodes[0], { ...o, receivers: nodes[1], extraPids: redis.pid === undefined ? [] : [redis.pid] });
            const cpuRatio = single.serverCpuUsPerMsg && across.serverCpuUsPerMsg ? (single.serverCpuUsPerMsg / across.serverCpuUsPerMsg).toFixed(2) : '–';
            across.notes.unshift(
              `round ${round + 1}: cross-node / one-node throughput ${(across.msgsPerSec / single.msgsPerSec).toFixed(2)}; ` +
                `one-node / cross-node server CPU per message ${cpuRatio} (server CPU here: both nodes and redis-server, the extra process)`,
            );
            res.messaging.push(single, across);
          } finally {
            await Promise.all(nodes.map((n) => n.stop()));
          }
        }
      } finally {
        await redis.stop();
      }
      return;
    }
    case 'connections': {
      const o = connectionsOptions(args.str('transport', 'tcp') as Transport, args.num('count', 5000));
      res.connections.push(await withServer('nestjs-im', (o.count / o.rate) * 1000 + o.holdMs + 180_000, (t) => runConnections(t, o)));
      return;
    }
    case 'connections-workers': {
      // 4 generators rather than 8: their CPU per login fell from 337-372 µs to 234-237 µs (fewer
      // processes waking for fewer events each), CPU the two workers share the machine's 2 cores with.
      const o = connectionsOptions(args.str('transport', 'tcp') as Transport, args.num('count', 38_000), 9500);
      const workers = args.num('server-workers', 2);
      const redis = await startBenchRedis();
      try {
        const lifetimeMs = (o.count / o.rate) * 1000 + o.holdMs + 180_000;
        const target = await startServer('nestjs-im', { lifetimeMs, execArgv: serverExecArgv(), workers, redisUrl: redis.url });
        try {
          res.connections.push(await runConnections(target, { ...o, redisPid: redis.pid }));
        } finally {
          await target.stop();
        }
      } finally {
        await redis.stop();
      }
      return;
    }
    case 'push': {
      const o = pushOptions();
      res.push.push(await withServer('nestjs-im', 300_000, (t) => runPush(t, o)));
      return;
    }
    case 'abuse': {
      const o = abuseOptions();
      const lifetimeMs = o.quietMs * 2 + o.rowMs * o.rows.length + 180_000;
      const target = await startServer('nestjs-im', { lifetimeMs, execArgv: serverExecArgv(), defaultLimits: true });
      try {
        (res.abuse ??= []).push(await runAbuse(target, o));
      } finally {
        await target.stop();
      }
      const last = res.abuse?.[res.abuse.length - 1];
      if (last && o.floor && o.rows.includes(3)) last.floor = await runAcceptFloor(o);
      return;
    }
    case 'soak': {
      const o = soakOptions();
      (res.soak ??= []).push(await withServer('nestjs-im', o.durationMs + o.settleMs + 180_000, (t) => runSoak(t, o)));
      return;
    }
    default:
      throw new Error(`unknown scenario "${scenario}"\n\n${USAGE}`);
  }
}

/** The standard set: a few minutes in all. */
async function runStandard(res: BenchResults): Promise<void> {
  const full = args.flag('full');
  const c2c = (transport: Transport, pairs: number, window: number) => messagingOptions('c2c', { transport, pairs, window });
  const steps: [string, () => Promise<void>][] = [
    ['TCP c2c 10/1', async () => void res.messaging.push(await im((t) => runMessaging(t, c2c('tcp', 10, 1))))],
    ['TCP c2c 100/10', async () => void res.messaging.push(await im((t) => runMessaging(t, c2c('tcp', 100, 10))))],
    ...(full ? [['TCP c2c 1000/10', async () => void res.messaging.push(await im((t) => runMessaging(t, c2c('tcp', 1000, 10))))] as [string, () => Promise<void>]] : []),
    ['WS c2c 100/10', async () => void res.messaging.push(await im((t) => runMessaging(t, c2c('ws', 100, 10))))],
    ['UDP c2c 100/1', async () => void res.messaging.push(await im((t) => runMessaging(t, c2c('udp', 100, 1))))],
    ['relay TCP c2c 10/1', async () => void res.messaging.push(await withServer('relay', 300_000, (t) => runMessaging(t, c2c('tcp', 10, 1))))],
    ['relay TCP c2c 100/10', async () => void res.messaging.push(await withServer('relay', 300_000, (t) => runMessaging(t, c2c('tcp', 100, 10))))],
    ['TCP c2s 100/10', async () => void res.messaging.push(await im((t) => runMessaging(t, messagingOptions('c2s', { transport: 'tcp', pairs: 100, window: 10 }))))],
    ['TCP echo 100/10', async () => void res.messaging.push(await im((t) => runMessaging(t, messagingOptions('echo', { transport: 'tcp', pairs: 100, window: 10 }))))],
    ['TCP push 10,000', async () => void res.push.push(await im((t) => runPush(t, { ...pushOptions(), transport: 'tcp', users: 10_000 })))],
    ['TCP connections', async () => void res.connections.push(await im((t) => runConnections(t, connectionsOptions('tcp', full ? 19_000 : 5000))))],
    ['WS connections', async () => void res.connections.push(await im((t) => runConnections(t, connectionsOptions('ws', full ? 19_000 : 5000))))],
  ];
  for (const [name, step] of steps) {
    const t0 = performance.now();
    process.stderr.write(`bench: ${name}…`);
    try {
      await step();
      process.stderr.write(` done in ${Math.round((performance.now() - t0) / 1000)} s\n`);
    } catch (err) {
      process.stderr.write(` FAILED: ${(err as Error).message}\n`);
      res.failures.push({ scenario: name, error: (err as Error).message });
    }
  }
}

function im<T>(body: (t: Target) => Promise<T>): Promise<T> {
  return startServer('nestjs-im', { lifetimeMs: 600_000, execArgv: serverExecArgv() }).then(async (t) => {
    try {
      return await body(t);
    } finally {
      await t.stop();
    }
  });
}

async function main(): Promise<void> {
  if (args.flag('help')) return void console.log(USAGE);
  const scenario = args.positional[0];
  if (scenario === 'profile-top') {
    return void console.log(profileTop(args.positional[1], args.num('limit', 25)).join('\n'));
  }
  // Every run is bounded: the whole process ends after this long whatever happens.
  const limitMs = args.num('time-limit', scenario ? 900 : 1800) * 1000;
  setTimeout(() => {
    console.error(`bench: time limit of ${limitMs / 1000} s reached; exiting`);
    process.exit(4);
  }, limitMs).unref();

  const res: BenchResults = { messaging: [], connections: [], push: [], failures: [], command: ['run.js', ...process.argv.slice(2)].join(' '), startedAt: new Date(), elapsedMs: 0 };
  const t0 = performance.now();
  if (scenario) await runSingle(scenario, res);
  else await runStandard(res);
  res.elapsedMs = performance.now() - t0;

  const report = renderReport(res);
  console.log(report);
  mkdirSync(reportsDir, { recursive: true });
  if (!scenario) writeFileSync(path.join(reportsDir, 'latest.md'), report + '\n');
  const out = args.str('out');
  if (out) writeFileSync(out, report + '\n');
  process.exit(res.failures.length ? 1 : 0);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err);
  process.exit(1);
});
