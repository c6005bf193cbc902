import * as os from 'os';
import { Histogram, LatencySummary, summarize } from '../lib/histogram';
import { getJson } from '../lib/http';
import { cpuBetween, processOpenFds, processRssKb, sampleCpu } from '../lib/proc';
import { startServer, Target } from '../lib/targets';
import { sourceAddress, split, WorkerGroup } from '../lib/worker-io';
import { AbuseCommand, AnonConfig, AnonReport, CanaryConfig, CanaryResult, connectAndLogin, FloodConfig, FloodResult } from './abuse-worker';

/** Options of the abuse scenario (issue 8, rows 1-3), replayed against a server at its default limits. */
export interface AbuseOptions {
  /** How long each row runs. */
  rowMs: number;
  /** Quiet periods before the first row and after the last. */
  quietMs: number;
  /** Rows to run, in order (1, 2, 3). */
  rows: number[];
  /** Canary messages per second (W=1). */
  canaryRate: number;
  /** Row 1: accounts, packets/s each, fingerprint length range. */
  row1Accounts: number;
  floodRate: number;
  row1FpMin: number;
  row1FpMax: number;
  /** Row 2: one account, every fingerprint this long (over V8's 16,383-character hashing limit). */
  row2FpChars: number;
  /** Row 3: anonymous connections held at once, over all workers, opened at `anonRate`/s. */
  anonCount: number;
  anonRate: number;
  anonPerWorker: number;
  echoEveryMs: number;
  /** After the rows, replay row 3 against a bare `net.Server` (bench/accept-floor-server.ts) to show what Node alone costs. */
  floor: boolean;
}

/** Row 3's connections against the bare accept-floor server: its RSS, as the library's is read. */
export interface FloorResult {
  rssStartKb?: number;
  rssPeakKb?: number;
  rssEndKb?: number;
  heapStartKb?: number;
  heapEndKb?: number;
  clients: AnonReport;
}

/** Server-side figures read at a moment of the run. */
export interface ServerSnapshot {
  rssKb?: number;
  openFds?: number;
  /** From the bench server's /stats: open sessions and logged-in users; absent when it did not answer. */
  sessions?: number;
  online?: number;
  statsError?: string;
  counters?: Record<string, number>;
}

/** The canary during one phase. */
export interface CanaryPhaseSummary {
  name: string;
  sent: number;
  ack: LatencySummary;
  /** Peak server RSS during the phase. */
  peakRssKb?: number;
  /** Server CPU during the phase, in cores (1 = one core busy). */
  serverCpu?: number;
}

/** A fresh login attempted while row 3 held its connections. */
export interface FreshLogin {
  /** When in the row: at 70% of it, or at its end (once every connection had its chance). */
  at: '70%' | 'end';
  transport: 'tcp' | 'ws';
  ok: boolean;
  ms: number;
  error?: string;
}

/** Everything the abuse scenario measured. */
export interface AbuseResult {
  label: string;
  options: AbuseOptions;
  canary: { overall: LatencySummary; phases: CanaryPhaseSummary[]; sent: number; acked: number; losses: number; dups: number; resends: number; unexpectedCloses: number; errors: number; notes: string[] };
  rssStartKb?: number;
  rssPeakKb?: number;
  rssEndKb?: number;
  /** V8 heap in use after a full GC, at the start and at the end: RSS growth without heap growth is memory the allocator kept. */
  heapStartKb?: number;
  heapEndKb?: number;
  fdsPeak?: number;
  /** The server process exited during the run (crash, out of memory). */
  serverExit?: string;
  row1?: FloodResult;
  row2?: FloodResult;
  row3?: { clients: AnonReport; heldAtEnd: ServerSnapshot; freshLogins: FreshLogin[]; duringStats: ServerSnapshot };
  end: ServerSnapshot;
  /** Row 3 replayed against the bare accept-floor server. */
  floor?: FloorResult;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Reads the server's RSS, descriptors and /stats; a server that cannot answer HTTP is a finding, not an error. */
async function snapshot(target: Target): Promise<ServerSnapshot> {
  const s: ServerSnapshot = { rssKb: target.pid ? processRssKb(target.pid) : undefined, openFds: target.pid ? processOpenFds(target.pid) : undefined };
  if (!target.push) return s;
  try {
    const st = await getJson<{ sessions: number; online: number; stats: Record<string, number> }>(`http://${target.host}:${target.push}/stats`, 5000);
    Object.assign(s, { sessions: st.sessions, online: st.online, counters: st.stats });
  } catch (err) {
    s.statsError = (err as Error).message;
  }
  return s;
}

/** Counts the worker reports of the anonymous-connection workers. */
function sumAnon(rs: AnonReport[]): AnonReport {
  const sum = (f: (r: AnonReport) => number) => rs.reduce((a, r) => a + f(r), 0);
  return {
    open: sum((r) => r.open),
    maxOpen: sum((r) => r.maxOpen),
    attempts: sum((r) => r.attempts),
    connectFailures: sum((r) => r.connectFailures),
    failureSamples: rs.flatMap((r) => r.failureSamples).slice(0, 5),
    closedByServer: sum((r) => r.closedByServer),
    echoReplies: sum((r) => r.echoReplies),
    errorPackets: sum((r) => r.errorPackets),
  };
}

/**
 * Replays issue 8's rows 1-3 one after another while a canary pair chats,
 * sampling the server's RSS throughout. Each row and the whole run are bounded in time.
 */
export async function runAbuse(target: Target, o: AbuseOptions): Promise<AbuseResult> {
  if (!target.tcp || !target.ws || !target.pid) throw new Error('the abuse scenario needs a bench server it started (TCP, WebSocket and its pid)');
  const tcp = { host: target.host, port: target.tcp, wsPath: target.wsPath };
  const ws = { host: target.host, port: target.ws, wsPath: target.wsPath };
  const pid = target.pid;
  const run = `abuse${process.pid % 1000}`;
  const notes: string[] = [];
  const result: Partial<AbuseResult> = { label: `abuse rows ${o.rows.join(', ')}, ${o.rowMs / 1000} s each`, options: o, notes };
  // Latency figures mean little on a machine that other work keeps busy: say how busy it was.
  notes.push(`machine load average at the start: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);

  // A full GC first, so the start figure is the live heap rather than whatever V8 had not collected yet.
  result.heapStartKb = (await fullGc(target))?.heapUsedKb;
  result.rssStartKb = processRssKb(pid);
  let peak = result.rssStartKb ?? 0;
  let phasePeak = peak;
  let fdsPeak = 0;
  const sampler = setInterval(() => {
    const rss = processRssKb(pid);
    if (rss !== undefined) {
      peak = Math.max(peak, rss);
      phasePeak = Math.max(phasePeak, rss);
    }
    fdsPeak = Math.max(fdsPeak, processOpenFds(pid) ?? 0);
    if (!result.serverExit && !isAlive(pid)) result.serverExit = `the server process ${pid} exited`;
  }, 200);

  const canaryCfg: CanaryConfig = { role: 'canary', endpoint: tcp, localAddress: sourceAddress(0), userPrefix: `${run}c`, rate: o.canaryRate, resendMs: 3000, maxResends: 2 };
  const totalMs = o.quietMs * 2 + o.rowMs * o.rows.length;
  const canary = WorkerGroup.start('abuse', [canaryCfg], totalMs + 120_000);
  const phasePeaks: Record<string, { rssKb: number; cpu?: number }> = {};
  let phaseName = 'setup';
  let phaseCpu = sampleCpu(pid);
  const endPhase = () => {
    const cpu = sampleCpu(pid);
    phasePeaks[phaseName] = { rssKb: phasePeak, cpu: cpuBetween(phaseCpu, cpu)?.share };
    phaseCpu = cpu;
  };
  const phase = (name: string) => {
    endPhase();
    phasePeak = processRssKb(pid) ?? 0;
    phaseName = name;
    canary.broadcast('cmd', { op: 'phase', name } satisfies AbuseCommand);
  };
  const alive = () => !result.serverExit;

  try {
    await canary.collect('ready', 30_000);
    phase('quiet before');
    await sleep(o.quietMs);

    for (const row of o.rows) {
      if (!alive()) break;
      phase(`row ${row}`);
      if (row === 1 || row === 2) {
        const flood = await floodRow(o, row, ws, `${run}r${row}u`);
        if (row === 1) result.row1 = flood;
        else result.row2 = flood;
      } else if (row === 3) {
        result.row3 = await row3(target, o, tcp, ws, run);
      }
    }

    if (alive()) {
      phase('quiet after');
      await sleep(o.quietMs);
    }
    endPhase();
    canary.broadcast('cmd', { op: 'stop' } satisfies AbuseCommand);
    const [c] = alive() ? await canary.collect<CanaryResult>('result', 30_000) : [undefined];
    result.canary = summarizeCanary(c, phasePeaks);
  } finally {
    clearInterval(sampler);
    await canary.stop();
  }
  // Once every client is gone: a full GC, then what the server kept.
  await sleep(1000);
  if (alive()) result.heapEndKb = (await fullGc(target))?.heapUsedKb;
  result.end = await snapshot(target);
  result.rssEndKb = result.end.rssKb;
  result.rssPeakKb = peak;
  result.fdsPeak = fdsPeak;
  return result as AbuseResult;
}

/** Rows 1 and 2: accounts flooding QoS C2S with huge fingerprints, split over generators of their own source address. */
async function floodRow(o: AbuseOptions, row: 1 | 2, ws: { host: string; port: number; wsPath: string }, userPrefix: string): Promise<FloodResult> {
  const accounts = row === 1 ? o.row1Accounts : 1;
  const workers = Math.max(1, Math.ceil(accounts / FLOOD_ACCOUNTS_PER_WORKER));
  const configs: FloodConfig[] = split(accounts, workers).map((n, i) => ({
    role: 'flood', endpoint: ws, localAddress: sourceAddress(1 + i), userPrefix: `${userPrefix}${i}-`,
    accounts: n, rate: o.floodRate,
    fpMin: row === 1 ? o.row1FpMin : o.row2FpChars, fpMax: row === 1 ? o.row1FpMax : o.row2FpChars,
    maxBufferedBytes: 4 << 20,
  }));
  const group = WorkerGroup.start('abuse', configs, o.rowMs + 120_000);
  try {
    await group.collect('ready', 30_000);
    await sleep(o.rowMs);
    group.broadcast('cmd', { op: 'stop' } satisfies AbuseCommand);
    return sumFlood(await group.collect<FloodResult>('result', 30_000));
  } finally {
    await group.stop();
  }
}

/** Accounts per flood generator: one process cannot build and send 190 messages of 40 KB a second for ten. */
const FLOOD_ACCOUNTS_PER_WORKER = 5;

function sumFlood(rs: FloodResult[]): FloodResult {
  const sum = (f: (r: FloodResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  return {
    loggedIn: sum((r) => r.loggedIn), loginFailures: rs.flatMap((r) => r.loginFailures).slice(0, 5),
    sent: sum((r) => r.sent), sentBytes: sum((r) => r.sentBytes), skipped: sum((r) => r.skipped), acks: sum((r) => r.acks),
    errors: sum((r) => r.errors), errorSamples: rs.flatMap((r) => r.errorSamples).slice(0, 3),
    closes: sum((r) => r.closes), relogins: sum((r) => r.relogins),
  };
}

/** Row 3's generators against `endpoint`, `rowMs` long: what they did, from their side. */
async function anonGenerators(
  o: AbuseOptions,
  endpoint: { host: string; port: number; wsPath: string },
  hooks: { during?: () => Promise<void>; beforeStop?: () => Promise<void> } = {},
): Promise<{ reports: AnonReport[]; ends: AnonReport[] }> {
  const workers = Math.max(1, Math.ceil(o.anonCount / o.anonPerWorker));
  const configs: AnonConfig[] = split(o.anonCount, workers).map((count, i) => ({
    role: 'anon', endpoint, localAddress: sourceAddress(2 + i), count, rate: (o.anonRate * count) / o.anonCount, echoEveryMs: o.echoEveryMs,
  }));
  const group = WorkerGroup.start('abuse', configs, o.rowMs + 120_000);
  try {
    const t0 = performance.now();
    await hooks.during?.();
    await sleep(Math.max(0, o.rowMs - (performance.now() - t0)));
    group.broadcast('cmd', { op: 'report' } satisfies AbuseCommand);
    const reports = await group.collect<AnonReport>('report', 30_000);
    await hooks.beforeStop?.();
    group.broadcast('cmd', { op: 'stop' } satisfies AbuseCommand);
    return { reports, ends: await group.collect<AnonReport>('result', 30_000) };
  } finally {
    await group.stop();
  }
}

/**
 * Row 3 against a bare `net.Server` that admits as the library does and has no
 * protocol: the part of the library's RSS growth that Node and V8 cost by
 * themselves under this connection churn (socket handles, the young generation
 * V8 grows under sustained allocation).
 */
export async function runAcceptFloor(o: AbuseOptions): Promise<FloorResult> {
  const target = await startServer('accept-floor', { lifetimeMs: o.rowMs + 180_000 });
  try {
    const pid = target.pid as number;
    const r: Partial<FloorResult> = {};
    r.heapStartKb = (await target.fullGc?.())?.heapUsedKb;
    r.rssStartKb = processRssKb(pid);
    let peak = r.rssStartKb ?? 0;
    const sampler = setInterval(() => (peak = Math.max(peak, processRssKb(pid) ?? 0)), 200);
    try {
      const { ends, reports } = await anonGenerators(o, { host: target.host, port: target.tcp as number, wsPath: target.wsPath });
      r.clients = { ...sumAnon(ends), open: sumAnon(reports).open };
      await sleep(1000);
    } finally {
      clearInterval(sampler);
    }
    r.heapEndKb = (await target.fullGc?.())?.heapUsedKb;
    r.rssEndKb = processRssKb(pid);
    r.rssPeakKb = Math.max(peak, r.rssEndKb ?? 0);
    return r as FloorResult;
  } finally {
    await target.stop();
  }
}

/** Row 3: anonymous connections from several source addresses; a fresh login over TCP and WS while they are held. */
async function row3(target: Target, o: AbuseOptions, tcp: { host: string; port: number; wsPath: string }, ws: typeof tcp, run: string): Promise<NonNullable<AbuseResult['row3']>> {
  // Fresh logins at 70% of the row (after the ramp at the default 2,000/s) and at its end, while the connections are held.
  const freshLogins: FreshLogin[] = [];
  const probe = async (at: FreshLogin['at']) => {
    for (const transport of ['tcp', 'ws'] as const) {
      const { link, ms, error } = await connectAndLogin(transport, transport === 'tcp' ? tcp : ws, { address: '127.0.0.1' }, `${run}fresh${transport}`, 5000);
      link?.close();
      freshLogins.push({ at, transport, ok: link !== null, ms, error });
    }
  };
  let duringStats: ServerSnapshot = {};
  let heldAtEnd: ServerSnapshot = {};
  const { reports, ends } = await anonGenerators(o, tcp, {
    during: async () => {
      await sleep(o.rowMs * 0.7);
      duringStats = await snapshot(target);
      await probe('70%');
    },
    beforeStop: async () => {
      heldAtEnd = await snapshot(target);
      await probe('end');
    },
  });
  // Open links come from the report at the end of the row; totals from the final results.
  return { clients: { ...sumAnon(ends), open: sumAnon(reports).open }, heldAtEnd, freshLogins, duringStats };
}

/** Asks the bench server for a full GC; its heap and RSS afterwards, or undefined if it did not answer. */
function fullGc(target: Target): Promise<{ rssKb: number; heapUsedKb: number } | undefined> {
  return getJson<{ rssKb: number; heapUsedKb: number }>(`http://${target.host}:${target.push}/gc`, 10_000).catch(() => undefined);
}

function summarizeCanary(c: CanaryResult | undefined, peaks: Record<string, { rssKb: number; cpu?: number }>): AbuseResult['canary'] {
  if (!c) {
    const empty = summarize(new Histogram());
    return { overall: empty, phases: [], sent: 0, acked: 0, losses: 0, dups: 0, resends: 0, unexpectedCloses: 0, errors: 0, notes: ['the canary did not report (the server exited)'] };
  }
  const measured = c.phases.filter((p) => p.name !== 'setup');
  return {
    overall: summarize(Histogram.from(measured.map((p) => p.ack))),
    phases: measured.map((p) => ({ name: p.name, sent: p.sent, ack: summarize(Histogram.from([p.ack])), peakRssKb: peaks[p.name]?.rssKb, serverCpu: peaks[p.name]?.cpu })),
    sent: c.sent,
    acked: c.acked,
    losses: c.sent - c.uniqueReceived,
    dups: c.dups,
    resends: c.resends,
    unexpectedCloses: c.unexpectedCloses,
    errors: c.errors,
    notes: [...c.loginFailures.map((f) => `canary login failure: ${f}`), ...c.errorSamples.map((e) => `canary error packet: ${e}`)],
  };
}
