import { Histogram, LatencySummary, summarize } from '../lib/histogram';
import { getJson } from '../lib/http';
import { Transport } from '../lib/links';
import { cpuBetween, CpuSample, listenOverflows, processCpuUs, processRssKb, sampleCpu, sampleMachineCpu } from '../lib/proc';
import { Target, WorkerReading } from '../lib/targets';
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
  /** The cluster's redis-server, whose CPU per login is reported too (multi-worker server). */
  redisPid?: number;
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
  /** Server CPU (every worker and the primary) per login during the ramp, µs: a figure a busy machine disturbs less than latency. */
  loginCpuUs?: number;
  /** The primary's part of `loginCpuUs` (it accepts and hands out every connection). */
  primaryLoginCpuUs?: number;
  /** Busy cores of the whole machine during the ramp (server, generators and everything else running). */
  rampMachineCores?: number;
  /** redis-server CPU per login during the ramp, µs (multi-worker server). */
  redisLoginCpuUs?: number;
  keepaliveResponses: number;
  unexpectedCloses: number;
  /** Kick-out packets the clients got (duplicate login, kick). */
  kickouts: number;
  errors: number;
  notes: string[];
  /** Multi-worker server: per worker, idle readings and readings while holding. */
  workers?: WorkerFigures[];
  /** Multi-worker server: users online anywhere, as the cluster (Redis) counts them while holding. */
  onlineAnywhere?: number;
  /**
   * Generator processes; the worst one's event-loop delay during the ramp (ms): latency the generator
   * added, not the server; their CPU per login during the ramp (µs, keepalives included).
   */
  generators: { processes: number; loopDelayP99Ms: number; loopDelayMaxMs: number; loginCpuUs?: number };
  /** Connections the kernel dropped during the ramp because an accept queue was full (machine-wide): each costs its client a SYN retransmission, 1 s or more. */
  listenOverflows?: number;
}

/** One server worker while holding: its share of the connections and what they cost it. */
export interface WorkerFigures {
  pid: number;
  sessions: number;
  rssBeforeKb?: number;
  rssAfterKb?: number;
  kbPerConnection?: number;
  closes?: WorkerReading['closes'];
}

/** CPU of several processes (the workers) summed into one sample. */
function sampleCpuOf(pids: number[]): CpuSample | undefined {
  let cpuUs = 0;
  for (const pid of pids) {
    const us = processCpuUs(pid);
    if (us === undefined) return undefined;
    cpuUs += us;
  }
  return { cpuUs, wallMs: performance.now() };
}

function sumRss(readings: WorkerReading[]): number | undefined {
  return readings.every((r) => r.rssKb !== undefined) ? readings.reduce((a, r) => a + (r.rssKb ?? 0), 0) : undefined;
}

function workerFigures(before: WorkerReading[], after: WorkerReading[]): WorkerFigures[] {
  return after.map((a) => {
    const b = before.find((r) => r.pid === a.pid);
    const kb = b?.rssKb !== undefined && a.rssKb !== undefined && a.sessions ? (a.rssKb - b.rssKb) / a.sessions : undefined;
    return { pid: a.pid, sessions: a.sessions, rssBeforeKb: b?.rssKb, rssAfterKb: a.rssKb, kbPerConnection: kb, closes: a.closes };
  });
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
  const rampBudgetMs = (o.count / o.rate) * 1000 + 60_000;
  const group = WorkerGroup.start('connections', configs, rampBudgetMs + o.holdMs + 120_000);
  try {
    // Every generator process up before the ramp: their start-up is not the server's login latency.
    await group.collect('ready', 60_000);
    await settleHeap();
    // Several workers: each one's GC and RSS, summed (the primary holds no connections).
    const workersBefore = await target.readWorkers?.();
    const rssBeforeKb = workersBefore ? sumRss(workersBefore) : pid ? processRssKb(pid) : undefined;
    const cpuOf = () => (target.workers ? sampleCpuOf(pid ? [pid, ...target.workers] : target.workers) : sampleCpu(pid));
    const rampCpu0 = cpuOf();
    const machine0 = sampleMachineCpu();
    const primaryCpu0 = target.workers ? sampleCpu(pid) : undefined;
    const redisCpu0 = sampleCpu(o.redisPid);
    const generatorCpu0 = sampleCpuOf(group.pids);
    const overflows0 = listenOverflows();
    group.broadcast('start');
    const t0 = performance.now();
    const opened = await group.collect<ConnectionsOpened>('opened', rampBudgetMs);
    const rampMs = performance.now() - t0;
    const cpu0 = cpuOf();
    const machine1 = sampleMachineCpu();
    const redisCpu1 = sampleCpu(o.redisPid);
    const primaryCpu1 = target.workers ? sampleCpu(pid) : undefined;
    const generatorCpu1 = sampleCpuOf(group.pids);
    const overflows1 = listenOverflows();
    await sleep(o.holdMs);
    const cpu1 = cpuOf();
    await settleHeap();
    const workersAfter = await target.readWorkers?.();
    const rssAfterKb = workersAfter ? sumRss(workersAfter) : pid ? processRssKb(pid) : undefined;
    const workers = workersBefore && workersAfter ? workerFigures(workersBefore, workersAfter) : undefined;
    group.broadcast('close');
    const closed = await group.collect<ConnectionsClosed>('result', 30_000);
    const loggedIn = opened.reduce((a, r) => a + r.loggedIn, 0);
    const perLogin = (a?: CpuSample, b?: CpuSample) => {
      const used = cpuBetween(a, b);
      return used && loggedIn ? used.us / loggedIn : undefined;
    };
    return {
      label: `${o.transport.toUpperCase()} connections ${o.count} at ${o.rate}/s${workers ? ` on ${workers.length} workers` : ''}`,
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
      loginCpuUs: perLogin(rampCpu0, cpu0),
      redisLoginCpuUs: perLogin(redisCpu0, redisCpu1),
      rampMachineCores: cpuBetween(machine0, machine1)?.share,
      primaryLoginCpuUs: perLogin(primaryCpu0, primaryCpu1),
      keepaliveResponses: closed.reduce((a, r) => a + r.keepaliveResponses, 0),
      unexpectedCloses: closed.reduce((a, r) => a + r.unexpectedCloses, 0),
      errors: closed.reduce((a, r) => a + r.errors, 0),
      kickouts: closed.reduce((a, r) => a + r.kickouts, 0),
      notes: opened.flatMap((r) => r.failureSamples).slice(0, 5),
      workers,
      onlineAnywhere: workersAfter?.[0]?.onlineAnywhere,
      generators: {
        processes: opened.length,
        loopDelayP99Ms: Math.max(...opened.map((r) => r.loopDelay.p99Ms)),
        loopDelayMaxMs: Math.max(...opened.map((r) => r.loopDelay.maxMs)),
        loginCpuUs: perLogin(generatorCpu0, generatorCpu1),
      },
      listenOverflows: overflows0 !== undefined && overflows1 !== undefined ? overflows1 - overflows0 : undefined,
    };
  } finally {
    await group.stop();
  }
}
