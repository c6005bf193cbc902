import { Histogram, LatencySummary, summarize } from '../lib/histogram';
import { getJson } from '../lib/http';
import { Transport } from '../lib/links';
import { cpuBetween, processRssKb, sampleCpu } from '../lib/proc';
import { Target } from '../lib/targets';
import { sourceAddress, split, WorkerGroup } from '../lib/worker-io';
import { ConnectionsClosed, ConnectionsOpened, ConnectionsWorkerConfig } from './connections-worker';

export interface ConnectionsOptions {
  transport: Transport;
  count: number;
  /** Connections opened per second, over all workers. */
  rate: number;
  holdMs: number;
  keepaliveMs: number;
  /** Connections per generator process (each has its own source address). */
  perWorker: number;
}

export interface ConnectionsResult {
  label: string;
  target: string;
  options: ConnectionsOptions;
  loggedIn: number;
  loginFailures: number;
  login: LatencySummary;
  rampMs: number;
  rssBeforeKb?: number;
  rssAfterKb?: number;
  kbPerConnection?: number;
  /** Server CPU in cores while holding the idle connections. */
  idleCpuShare?: number;
  keepaliveResponses: number;
  unexpectedCloses: number;
  errors: number;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Splits `users` logged-in clients over generator workers, `perWorker` each,
 * each worker on its own source address, at a share of the total login rate.
 * Users are named `${userPrefix}0` … `${userPrefix}${users - 1}`.
 */
export function loginWorkerConfigs(
  target: Target,
  port: number,
  transport: Transport,
  o: { users: number; perWorker: number; rate: number; keepaliveMs: number; userPrefix: string },
): ConnectionsWorkerConfig[] {
  const workers = Math.max(1, Math.ceil(o.users / o.perWorker));
  let offset = 0;
  return split(o.users, workers).map((count, i) => {
    const config: ConnectionsWorkerConfig = {
      transport,
      endpoint: { host: target.host, port, wsPath: target.wsPath },
      localAddress: sourceAddress(i),
      count,
      userPrefix: o.userPrefix,
      userOffset: offset,
      rate: (o.rate * count) / o.users,
      keepaliveMs: o.keepaliveMs,
    };
    offset += count;
    return config;
  });
}

/** Opens `count` logged-in clients at `rate`, holds them with keepalives, and reads the server's RSS. */
export async function runConnections(target: Target, o: ConnectionsOptions): Promise<ConnectionsResult> {
  const port = target[o.transport];
  if (!port) throw new Error(`${target.name} has no ${o.transport} port`);
  const configs = loginWorkerConfigs(target, port, o.transport, {
    users: o.count, perWorker: o.perWorker, rate: o.rate, keepaliveMs: o.keepaliveMs, userPrefix: `conn${o.transport}${process.pid % 1000}-`,
  });
  const pid = target.pid;
  // The bench server can run a full GC first, so the readings do not depend on when V8 last collected.
  const settleHeap = () => (target.push ? getJson(`http://${target.host}:${target.push}/gc`, 10_000).catch(() => undefined) : Promise.resolve());
  await settleHeap();
  const rssBeforeKb = pid ? processRssKb(pid) : undefined;
  const rampBudgetMs = (o.count / o.rate) * 1000 + 60_000;
  const group = WorkerGroup.start('connections', configs, rampBudgetMs + o.holdMs + 120_000);
  try {
    const t0 = performance.now();
    const opened = await group.collect<ConnectionsOpened>('opened', rampBudgetMs);
    const rampMs = performance.now() - t0;
    const cpu0 = sampleCpu(pid);
    await sleep(o.holdMs);
    const cpu1 = sampleCpu(pid);
    await settleHeap();
    const rssAfterKb = pid ? processRssKb(pid) : undefined;
    group.broadcast('close');
    const closed = await group.collect<ConnectionsClosed>('result', 30_000);
    const loggedIn = opened.reduce((a, r) => a + r.loggedIn, 0);
    return {
      label: `${o.transport.toUpperCase()} connections ${o.count} at ${o.rate}/s`,
      target: target.name,
      options: o,
      loggedIn,
      loginFailures: opened.reduce((a, r) => a + r.loginFailures, 0),
      login: summarize(Histogram.from(opened.map((r) => r.login))),
      rampMs,
      rssBeforeKb,
      rssAfterKb,
      kbPerConnection: rssBeforeKb !== undefined && rssAfterKb !== undefined && loggedIn ? (rssAfterKb - rssBeforeKb) / loggedIn : undefined,
      idleCpuShare: cpuBetween(cpu0, cpu1)?.share,
      keepaliveResponses: closed.reduce((a, r) => a + r.keepaliveResponses, 0),
      unexpectedCloses: closed.reduce((a, r) => a + r.unexpectedCloses, 0),
      errors: closed.reduce((a, r) => a + r.errors, 0),
      notes: opened.flatMap((r) => r.failureSamples).slice(0, 5),
    };
  } finally {
    await group.stop();
  }
}
