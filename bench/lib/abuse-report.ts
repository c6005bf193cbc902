import type { AbuseResult, FloorResult, ServerSnapshot } from '../scenarios/abuse';
import type { FloodResult } from '../scenarios/abuse-worker';
import type { LatencySummary } from './histogram';

/** Issue 8's targets: the canary's ACK p99 and the server's RSS growth over the run. */
const P99_TARGET_MS = 50;
const RSS_GROWTH_TARGET_MB = 30;

const ok = (met: boolean) => (met ? '✅' : '❌');
const mb = (kb: number | undefined) => (kb === undefined ? '–' : (kb / 1024).toFixed(1));
const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
const lat = (s: LatencySummary) => (s.count ? `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}` : '–');

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function floodLine(name: string, f: FloodResult | undefined, seconds: number): string[] {
  if (!f) return [];
  const errors = f.errorSamples.length ? `; first error packets: ${f.errorSamples.map((e) => `\`${e.slice(0, 160)}\``).join(', ')}` : '';
  return [
    `- ${name}: ${f.loggedIn} account(s) logged in; ${int(f.sent)} packets sent (${int(f.sent / seconds)}/s, ${mb(f.sentBytes / 1024)} MB), ` +
      `${int(f.acks)} ACKed, ${int(f.skipped)} skipped (link down, or more than 4 MB not yet written: the server was not reading), ${int(f.errors)} error packets, ` +
      `${int(f.closes)} connections closed by the server, ${int(f.relogins)} logins again${errors}` +
      (f.loginFailures.length ? `; login failures: ${f.loginFailures.join('; ')}` : ''),
  ];
}

const anonymousHeld = (s: ServerSnapshot) => (s.sessions !== undefined && s.online !== undefined ? s.sessions - s.online : undefined);
const statsCell = (s: ServerSnapshot) =>
  s.statsError ? `HTTP /stats failed: ${s.statsError}` : `${int(s.sessions)} sessions, ${int(s.online)} logged in, ${int(anonymousHeld(s))} anonymous`;

const growth = (from?: number, to?: number) => (from !== undefined && to !== undefined ? (to - from) / 1024 : undefined);
const plusMb = (v?: number) => (v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}`);

/** Row 3 against the bare accept-floor server: what Node alone grows by under the same churn. */
function floorRows(f: FloorResult, libraryPeakGrowthMb?: number): string[][] {
  const peak = growth(f.rssStartKb, f.rssPeakKb);
  return [
    [
      'Node floor: row 3 alone against a bare `net.Server` (bench/accept-floor-server.ts), RSS start → peak → end MB (growth end / peak)',
      `${mb(f.rssStartKb)} → ${mb(f.rssPeakKb)} → ${mb(f.rssEndKb)} (${plusMb(growth(f.rssStartKb, f.rssEndKb))} / ${plusMb(peak)}); ` +
        `${int(f.clients.attempts)} attempts, ${int(f.clients.closedByServer)} closed by it; V8 heap after a full GC ${mb(f.heapStartKb)} → ${mb(f.heapEndKb)}`,
      '',
    ],
    ['server RSS peak growth beyond the Node floor MB', plusMb(libraryPeakGrowthMb !== undefined && peak !== undefined ? libraryPeakGrowthMb - peak : undefined), ''],
  ];
}

/** The abuse scenario's section of the Markdown report. */
export function abuseSection(all: AbuseResult[]): string[] {
  return all.flatMap((r) => {
    const growthMb = r.rssStartKb !== undefined && r.rssEndKb !== undefined ? (r.rssEndKb - r.rssStartKb) / 1024 : undefined;
    const peakGrowthMb = r.rssStartKb !== undefined && r.rssPeakKb !== undefined ? (r.rssPeakKb - r.rssStartKb) / 1024 : undefined;
    const seconds = r.options.rowMs / 1000;
    const row3 = r.row3;
    const fresh = row3?.freshLogins.map((f) => `${f.at}: ${f.transport.toUpperCase()} ${f.ok ? `ok in ${ms(f.ms)} ms` : `FAILED (${f.error})`}`).join(', ');
    return [
      `## Abuse (issue 8, rows ${r.options.rows.join(', ')}) at the default limits`,
      '',
      ...table(
        ['figure', 'value', 'target'],
        [
          ['canary ACK RTT p50 / p99 / max ms (all phases)', lat(r.canary.overall), `p99 < ${P99_TARGET_MS} ms ${ok(r.canary.overall.count > 0 && r.canary.overall.p99 < P99_TARGET_MS)}`],
          ['canary sent / ACKed / lost / dups', `${int(r.canary.sent)} / ${int(r.canary.acked)} / ${int(r.canary.losses)} / ${int(r.canary.dups)}`, `no loss ${ok(r.canary.sent > 0 && r.canary.losses === 0)}`],
          ['server RSS start → peak → end MB', `${mb(r.rssStartKb)} → ${mb(r.rssPeakKb)} → ${mb(r.rssEndKb)}`, ''],
          ['server RSS growth, end / peak MB', `${growthMb === undefined ? '–' : `+${growthMb.toFixed(1)}`} / ${peakGrowthMb === undefined ? '–' : `+${peakGrowthMb.toFixed(1)}`}`, `< +${RSS_GROWTH_TARGET_MB} MB ${ok(peakGrowthMb !== undefined && peakGrowthMb < RSS_GROWTH_TARGET_MB)}`],
          ...(r.floor ? floorRows(r.floor, peakGrowthMb) : []),
          ['server V8 heap after a full GC, start → end MB', `${mb(r.heapStartKb)} → ${mb(r.heapEndKb)}`, ''],
          ['server open files, peak', int(r.fdsPeak), ''],
          ...(row3
            ? [
                ['row 3: anonymous connections the server held at the end', `${statsCell(row3.heldAtEnd)}; ${int(row3.heldAtEnd.openFds)} open files`, ''],
                ['row 3: fresh logins during the row (at 70% and at the end)', fresh ?? '–', `all succeed ${ok(!!row3.freshLogins.length && row3.freshLogins.every((f) => f.ok))}`],
              ]
            : []),
          ['server process', r.serverExit ?? 'alive to the end', `alive ${ok(!r.serverExit)}`],
        ],
      ),
      '',
      ...table(
        ['phase', 'canary msgs', 'canary ACK p50 / p99 / max ms', 'server RSS peak MB', 'server CPU (cores)'],
        r.canary.phases.map((p) => [p.name, int(p.sent), lat(p.ack), mb(p.peakRssKb), p.serverCpu === undefined ? '–' : p.serverCpu.toFixed(2)]),
      ),
      '',
      `The canary: one sender and one receiver, QoS C2C over TCP, W=1, ${r.options.canaryRate} msgs/s, for the whole run; the receiver ACKs as the SDKs do, ` +
        'the sender resends after 3 s, twice. RSS: start and end after a full GC (the bench server\'s /gc), peak sampled every 200 ms. ' +
        'The server runs with the library\'s default limits (`--default-limits`), not the raised ones of the other scenarios.',
      '',
      ...floodLine(`row 1 (${r.options.row1Accounts} accounts over WebSocket, ${r.options.floodRate} QoS C2S/s each, fp ${int(r.options.row1FpMin)}-${int(r.options.row1FpMax)} chars)`, r.row1, seconds),
      ...floodLine(`row 2 (1 account over WebSocket, ${r.options.floodRate} QoS C2S/s, every fp ${int(r.options.row2FpChars)} chars)`, r.row2, seconds),
      ...(row3
        ? [
            `- row 3 (up to ${int(r.options.anonCount)} TCP connections that never log in, ${int(r.options.anonRate)} opened/s, an echo every ${r.options.echoEveryMs / 1000} s): ` +
              `${int(row3.clients.attempts)} attempts, at most ${int(row3.clients.maxOpen)} open at once (generator side), ${int(row3.clients.open)} open at the end, ` +
              `${int(row3.clients.closedByServer)} closed by the server, ${int(row3.clients.connectFailures)} failed to connect` +
              (row3.clients.failureSamples.length ? ` (${row3.clients.failureSamples.join('; ')})` : '') +
              `, ${int(row3.clients.echoReplies)} echo replies, ${int(row3.clients.errorPackets)} error packets. ` +
              `Server during the row: ${statsCell(row3.duringStats)}, ${int(row3.duringStats.openFds)} open files.`,
          ]
        : []),
      ...r.canary.notes.map((n) => `- ${n}`),
      ...r.notes.map((n) => `- ${n}`),
      ...(r.end.counters ? [`- server counters at the end: ${Object.entries(r.end.counters).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}`] : []),
      '',
    ];
  });
}
