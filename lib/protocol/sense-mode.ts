import { TransportKind } from './transport-kind';

/**
 * MobileIMSDK keepalive "sense modes" (PROTOCOL.md §5). One table holds both
 * sides of each mode: how often the SDK sends a keepalive and when it gives
 * up (§5.2), and after how long the server drops a silent session (§5.1).
 * The two sides must agree, so they live in one row.
 */
export type SenseMode = '3S' | '5S' | '10S' | '15S' | '30S' | '60S' | '120S' | 'DEFAULT';

/** Keepalive timing of a client (PROTOCOL.md §5.2). */
export interface KeepaliveTimings {
  /** Send a keepalive (type 1) this often; the first goes out one interval after login. */
  intervalMs: number;
  /** Declare the link lost when no keepalive response (type 51) came for this long. */
  timeoutMs: number;
  /** How often to check the timeout; the SDKs check every 2 s. */
  checkIntervalMs: number;
}

/** Seconds: client keepalive interval, client link-loss timeout, server idle timeout. */
type Row = readonly [intervalS: number, clientTimeoutS: number, serverIdleS: number];

/**
 * TCP and WebSocket. `DEFAULT` (no mode set) is the Java/Android/iOS TCP SDKs'
 * 15 s / 20 s and the reference server's 20 s.
 */
const STREAM: Record<SenseMode, Row> = {
  '3S': [3, 5, 7],
  '5S': [5, 8, 11],
  '10S': [10, 15, 15],
  '15S': [15, 20, 20],
  '30S': [30, 35, 35],
  '60S': [60, 65, 65],
  '120S': [120, 125, 125],
  DEFAULT: [15, 20, 20],
};

/** UDP allows a longer silence; 5S and 15S do not exist there. */
const UDP: Partial<Record<SenseMode, Row>> = {
  '3S': [3, 10, 10],
  '10S': [10, 21, 21],
  '30S': [30, 61, 62],
  '60S': [60, 121, 122],
  '120S': [120, 241, 242],
  DEFAULT: [3, 10, 10],
};

function row(mode: SenseMode, kind: TransportKind): Row {
  const r = kind === 'udp' ? UDP[mode] : STREAM[mode];
  if (r === undefined) throw new Error(kind === 'udp' ? `sense mode ${mode} does not exist for UDP` : `unknown sense mode ${mode}`);
  return r;
}

/** Server idle timeout in ms for a TCP or WebSocket session under `mode`. */
export function streamIdleTimeoutMs(mode: SenseMode): number {
  return row(mode, 'tcp')[2] * 1000;
}

/** Server idle timeout in ms for a UDP session under `mode`; 5S and 15S do not exist for UDP. */
export function udpIdleTimeoutMs(mode: SenseMode): number {
  return row(mode, 'udp')[2] * 1000;
}

/** The SDK keepalive timings of `mode` on a transport; throws for a mode the UDP SDKs lack. */
export function senseModeTimings(mode: SenseMode, kind: TransportKind): KeepaliveTimings {
  const r = row(mode, kind);
  return { intervalMs: r[0] * 1000, timeoutMs: r[1] * 1000, checkIntervalMs: 2000 };
}
