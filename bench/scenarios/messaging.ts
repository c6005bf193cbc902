import { Histogram, LatencySummary, summarize } from '../lib/histogram';
import { getJson } from '../lib/http';
import { Transport } from '../lib/links';
import { cpuBetween, processRssKb, sampleCpu, sampleMachineCpu, udpSocketDrops } from '../lib/proc';
import { Target } from '../lib/targets';
import { sourceAddress, split, WorkerGroup } from '../lib/worker-io';
import { MessagingKind, MessagingWorkerConfig, MessagingWorkerResult } from './messaging-worker';

export interface MessagingOptions {
  kind: MessagingKind;
  transport: Transport;
  /** Senders (c2c: sender/receiver pairs). */
  pairs: number;
  window: number;
  bodyBytes: number;
  warmupMs: number;
  durationMs: number;
  graceMs: number;
  resendMs: number;
  /** Messages per sender in all; 0: as many as the window allows for the duration. */
  messages: number;
  maxResends: number;
  /** Generator processes. */
  workers: number;
  keepaliveMs: number;
  /** C2C across a cluster: receivers log in on this node, senders on the target. */
  receivers?: Target;
  /** More processes whose CPU counts as the server's (the cluster's redis-server). */
  extraPids?: number[];
}

export interface MessagingResult {
  label: string;
  target: string;
  options: MessagingOptions;
  loggedIn: number;
  loginFailures: number;
  /** C2C: messages received by receivers per second; c2s: ACKs; echo: replies. */
  msgsPerSec: number;
  serverCpuUsPerMsg?: number;
  /** Server CPU in cores (1 = one core busy) over the measured period. */
  serverCpuShare?: number;
  generatorCpuShare: number;
  /** Busy cores of the whole machine (all processes, kernel included). */
  machineCpuShare?: number;
  /** UDP only: datagrams dropped by full receive buffers, server socket / client sockets. */
  udpDrops?: { server: number; clients: number };
  serverRssKb?: number;
  ack: LatencySummary;
  e2e?: LatencySummary;
  sent: number;
  dups: number;
  dupAcks: number;
  losses: number;
  unacked: number;
  resends: number;
  gaveUp: number;
  errors: number;
  unexpectedCloses: number;
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let runCounter = 0;

export function messagingLabel(o: Pick<MessagingOptions, 'kind' | 'transport' | 'pairs' | 'window'>, target = 'nestjs-im'): string {
  const who = o.kind === 'c2c' ? `${o.pairs} pairs` : `${o.pairs} clients`;
  return `${target === 'relay' ? 'relay ' : ''}${o.transport.toUpperCase()} ${o.kind} ${who} W=${o.window}`;
}

/** Runs c2c, c2s or echo against `target` with generator workers; measures server CPU from its pid. */
export async function runMessaging(target: Target, o: MessagingOptions): Promise<MessagingResult> {
  const port = target[o.transport];
  if (!port) throw new Error(`${target.name} has no ${o.transport} port`);
  const endpoint = { host: target.host, port, wsPath: target.wsPath };
  const receiverPort = o.receivers?.[o.transport];
  if (o.receivers && !receiverPort) throw new Error(`${o.receivers.name} has no ${o.transport} port`);
  const receiverEndpoint = o.receivers ? { host: o.receivers.host, port: receiverPort as number, wsPath: o.receivers.wsPath } : undefined;
  const run = `${o.kind}${++runCounter}${process.pid % 1000}`;
  const workers = Math.max(1, Math.min(o.workers, o.pairs));
  const configs: MessagingWorkerConfig[] = split(o.pairs, workers).map((senders, i) => ({
    kind: o.kind,
    transport: o.transport,
    endpoint,
    receiverEndpoint,
    localAddress: sourceAddress(i),
    senders,
    window: o.window,
    bodyBytes: o.bodyBytes,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
    graceMs: o.graceMs,
    resendMs: o.resendMs,
    messages: o.messages,
    maxResends: o.maxResends,
    userPrefix: `${run}w${i}`,
    keepaliveMs: o.keepaliveMs,
  }));
  const group = WorkerGroup.start('messaging', configs, o.warmupMs + o.durationMs + o.graceMs + 120_000);
  try {
    await group.collect('ready', 60_000);
    group.broadcast('go');
    await sleep(o.warmupMs);
    const cpu0 = sampleCpu(target.pid);
    const otherPids = [o.receivers?.pid, ...(o.extraPids ?? [])].filter((p): p is number => p !== undefined);
    const others0 = otherPids.map((p) => sampleCpu(p));
    const machine0 = sampleMachineCpu();
    await sleep(o.durationMs);
    const cpu1 = sampleCpu(target.pid);
    const others = otherPids.map((p, i) => cpuBetween(others0[i], sampleCpu(p)));
    const machine = cpuBetween(machine0, sampleMachineCpu());
    const serverRssKb = target.pid ? processRssKb(target.pid) : undefined;
    const udpDrops = o.transport === 'udp' ? udpSocketDrops(port) : undefined;
    const results = await group.collect<MessagingWorkerResult>('result', o.graceMs + 30_000);
    // A cluster: the server CPU is every node's and Redis's.
    let cpu = cpuBetween(cpu0, cpu1);
    for (const other of others) cpu = cpu && other ? { us: cpu.us + other.us, share: cpu.share + other.share } : cpu;
    const summary = summarizeRun(target, o, results, cpu, serverRssKb);
    summary.notes.push(...(await serverCounters(target)));
    if (o.receivers) summary.notes.push(...(await serverCounters(o.receivers)).map((n) => `receivers' node: ${n}`));
    if (others.length && summary.serverCpuUsPerMsg !== undefined) {
      const delivered = summary.serverCpuUsPerMsg && cpu ? cpu.us / summary.serverCpuUsPerMsg : 0;
      const per = (c?: { us: number }) => (c && delivered ? (c.us / delivered).toFixed(1) : '–');
      const names = [...(o.receivers ? ['receivers\' node'] : []), ...(o.extraPids ?? []).map((_, i) => `extra process ${i + 1}`)];
      summary.notes.push(`server CPU µs/msg by process: senders' node ${per(cpuBetween(cpu0, cpu1))}, ${others.map((c, i) => `${names[i]} ${per(c)}`).join(', ')}`);
    }
    return { ...summary, machineCpuShare: machine?.share, udpDrops };
  } finally {
    await group.stop();
  }
}

/** Counters of the bench server that signal trouble (retransmits, limits, bad input...), when not zero. */
const TROUBLE = ['badInput', 'unknownType', 'notLoggedIn', 'forgedSender', 'rateLimited', 'readPauses', 'slowConsumers', 'queueOverflow', 'loginsRefused', 'kicks',
  'c2cOffline', 'c2sDuplicates', 'outboundTooLarge', 'retransmits', 'lost', 'idleTimeouts', 'handlerErrors'];

async function serverCounters(target: Target): Promise<string[]> {
  if (!target.push) return [];
  try {
    const { stats } = await getJson<{ stats: Record<string, number> }>(`http://${target.host}:${target.push}/stats`, 5000);
    const hits = TROUBLE.filter((k) => stats[k]).map((k) => `${k} ${stats[k]}`);
    return hits.length ? [`server counters: ${hits.join(', ')}`] : [];
  } catch {
    return [];
  }
}

function summarizeRun(
  target: Target,
  o: MessagingOptions,
  rs: MessagingWorkerResult[],
  cpu: { us: number; share: number } | undefined,
  serverRssKb: number | undefined,
): MessagingResult {
  const sum = (f: (r: MessagingWorkerResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const measuredMs = sum((r) => r.measuredMs) / rs.length;
  const delivered = o.kind === 'c2c' ? sum((r) => r.measuredDelivered) : sum((r) => r.measuredAcks);
  const sent = sum((r) => r.sent);
  const notes: string[] = [];
  for (const r of rs) notes.push(...r.failureSamples.map((s) => `login failure: ${s}`), ...r.errorSamples.map((s) => `error packet: ${s}`));
  return {
    label: messagingLabel(o, target.name) + (o.receivers ? ' across 2 nodes' : ''),
    target: target.name,
    options: o,
    loggedIn: sum((r) => r.loggedIn),
    loginFailures: sum((r) => r.loginFailures),
    msgsPerSec: delivered / (measuredMs / 1000),
    serverCpuUsPerMsg: cpu && delivered ? cpu.us / delivered : undefined,
    serverCpuShare: cpu?.share,
    generatorCpuShare: sum((r) => r.cpuUs) / 1000 / measuredMs,
    serverRssKb,
    ack: summarize(Histogram.from(rs.map((r) => r.ack))),
    e2e: o.kind === 'c2c' ? summarize(Histogram.from(rs.map((r) => r.e2e))) : undefined,
    sent,
    dups: sum((r) => r.dups),
    dupAcks: sum((r) => r.dupAcks),
    losses: o.kind === 'c2c' ? sent - sum((r) => r.uniqueReceived) : sent - sum((r) => r.acked),
    unacked: sent - sum((r) => r.acked),
    resends: sum((r) => r.resends),
    gaveUp: sum((r) => r.gaveUp),
    errors: sum((r) => r.errors),
    unexpectedCloses: sum((r) => r.unexpectedCloses),
    notes: notes.slice(0, 6),
  };
}
