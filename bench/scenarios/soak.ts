import { getJson } from '../lib/http';
import { processRssKb } from '../lib/proc';
import { Target } from '../lib/targets';
import { split, WorkerGroup } from '../lib/worker-io';
import { SoakConfig, SoakResult } from './soak-worker';

/** Options of the soak scenario (issue 11): chat with link drops and re-logins for a few minutes. */
export interface SoakOptions {
  pairs: number;
  workers: number;
  /** Messages per second per sender. */
  rate: number;
  durationMs: number;
  /** Each worker drops one random client's link this often. */
  dropEveryMs: number;
  maxDownMs: number;
  settleMs: number;
}

export interface SoakReport {
  options: SoakOptions;
  totals: SoakResult;
  /** V8 heap in use after a full GC, once every client is logged in (before) and after the traffic settled (the same clients). */
  heapStartKb?: number;
  heapEndKb?: number;
  rssStartKb?: number;
  rssPeakKb?: number;
  rssEndKb?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bounded soak: pairs chat with QoS over TCP and WebSocket while clients lose
 * their links and log in again; then every send settles. Passes when no message
 * the server ACKed is missing at its recipient and the live heap is back within
 * 10% of where it started.
 */
export async function runSoak(target: Target, o: SoakOptions): Promise<SoakReport> {
  if (!target.tcp || !target.ws || !target.pid) throw new Error('the soak scenario needs a bench server it started (TCP, WebSocket and its pid)');
  const pid = target.pid;
  const run = `soak${process.pid % 1000}`;
  const configs: SoakConfig[] = split(o.pairs, o.workers).map((pairs, i) => ({
    pairs, userPrefix: `${run}w${i}-`, rate: o.rate, dropEveryMs: o.dropEveryMs, maxDownMs: o.maxDownMs, settleMs: o.settleMs,
    tcp: { host: target.host, port: target.tcp as number }, ws: { host: target.host, port: target.ws as number, wsPath: target.wsPath },
  }));
  const group = WorkerGroup.start('soak', configs, o.durationMs + o.settleMs + 180_000);
  const report: Partial<SoakReport> = { options: o };
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, processRssKb(pid) ?? 0)), 500);
  try {
    await group.collect('ready', 60_000);
    report.heapStartKb = (await fullGc(target))?.heapUsedKb;
    report.rssStartKb = processRssKb(pid);
    group.broadcast('go');
    await sleep(o.durationMs);
    group.broadcast('stop');
    await group.collect('settled', o.settleMs + 30_000);
    report.heapEndKb = (await fullGc(target))?.heapUsedKb;
    report.rssEndKb = processRssKb(pid);
    group.broadcast('finish');
    const results = await group.collect<SoakResult>('result', 30_000);
    report.totals = sum(results);
  } finally {
    clearInterval(sampler);
    await group.stop();
  }
  report.rssPeakKb = peak;
  return report as SoakReport;
}

function sum(rs: SoakResult[]): SoakResult {
  const total = (f: (r: SoakResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const outcomes: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  return {
    loggedIn: total((r) => r.loggedIn), sent: total((r) => r.sent), acked: total((r) => r.acked), outcomes,
    lostAcked: total((r) => r.lostAcked), lostSamples: rs.flatMap((r) => r.lostSamples).slice(0, 5), dups: total((r) => r.dups),
    drops: total((r) => r.drops), reconnects: total((r) => r.reconnects), unsettled: total((r) => r.unsettled),
  };
}

function fullGc(target: Target): Promise<{ rssKb: number; heapUsedKb: number } | undefined> {
  return getJson<{ rssKb: number; heapUsedKb: number }>(`http://${target.host}:${target.push}/gc`, 10_000).catch(() => undefined);
}

const mb = (kb?: number) => (kb === undefined ? '–' : (kb / 1024).toFixed(1));

/** The report section of the soak runs. */
export function soakSection(reports: SoakReport[]): string[] {
  if (reports.length === 0) return [];
  const lines = ['## Soak (issue 11): chat with link drops and re-logins', ''];
  for (const r of reports) {
    const t = r.totals;
    const o = r.options;
    const heapRatio = r.heapStartKb && r.heapEndKb ? r.heapEndKb / r.heapStartKb : undefined;
    const other = Object.entries(t.outcomes).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ') || 'none';
    lines.push(
      `${o.pairs} pairs (TCP and WebSocket) at ${o.rate} msgs/s each for ${o.durationMs / 1000} s over ${o.workers} generators; each generator silences one client's network every ${o.dropEveryMs} ms for up to ${o.maxDownMs / 1000} s (packets both ways vanish while the server still sees the connection open), then the link closes and the client logs in again (AutoReconnect).`,
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| sent / ACKed by the server | ${t.sent.toLocaleString('en-US')} / ${t.acked.toLocaleString('en-US')} |  |`,
      `| ACKed but never received by the recipient's application | ${t.lostAcked}${t.lostSamples.length ? ` (e.g. ${t.lostSamples.join(', ')})` : ''} | 0 ${t.lostAcked === 0 ? '✅' : '❌'} |`,
      `| received twice by the application | ${t.dups} |  |`,
      `| other outcomes | ${other} |  |`,
      `| link drops / re-logins | ${t.drops} / ${t.reconnects} |  |`,
      `| sends unsettled at the end | ${t.unsettled} |  |`,
      `| server V8 heap after a full GC, start → end MB | ${mb(r.heapStartKb)} → ${mb(r.heapEndKb)}${heapRatio ? ` (${((heapRatio - 1) * 100).toFixed(1)}%)` : ''} | within 10% ${heapRatio !== undefined && heapRatio <= 1.1 ? '✅' : '❌'} |`,
      `| server RSS start → peak → end MB | ${mb(r.rssStartKb)} → ${mb(r.rssPeakKb)} → ${mb(r.rssEndKb)} |  |`,
      '',
    );
  }
  return lines;
}
