import { LinkKind } from './link';

/** The SDKs' keepalive "sense modes" (PROTOCOL.md §5.2); `DEFAULT` is an SDK with no mode set. */
export type ClientSenseMode = '3S' | '5S' | '10S' | '15S' | '30S' | '60S' | '120S' | 'DEFAULT';

/** Keepalive timing of a client (PROTOCOL.md §5.2). */
export interface KeepaliveTimings {
  /** Send a keepalive (type 1) this often; the first goes out one interval after login. */
  intervalMs: number;
  /** Declare the link lost when no keepalive response (type 51) came for this long. */
  timeoutMs: number;
  /** How often to check the timeout; the SDKs check every 2 s. */
  checkIntervalMs: number;
}

type Pair = readonly [intervalMs: number, timeoutMs: number];

/** TCP and WebSocket SDKs. Unset mode: the Java, Android and iOS TCP SDKs' 15 s / 20 s. */
const STREAM: Record<ClientSenseMode, Pair> = {
  '3S': [3000, 5000],
  '5S': [5000, 8000],
  '10S': [10000, 15000],
  '15S': [15000, 20000],
  '30S': [30000, 35000],
  '60S': [60000, 65000],
  '120S': [120000, 125000],
  DEFAULT: [15000, 20000],
};

/** UDP SDKs, which allow a longer silence; 5S and 15S do not exist there. */
const UDP: Partial<Record<ClientSenseMode, Pair>> = {
  '3S': [3000, 10000],
  '10S': [10000, 21000],
  '30S': [30000, 61000],
  '60S': [60000, 121000],
  '120S': [120000, 241000],
  DEFAULT: [3000, 10000],
};

/** The SDK keepalive timings of `mode` on a transport; throws for a mode the UDP SDKs lack. */
export function senseModeTimings(mode: ClientSenseMode, kind: LinkKind): KeepaliveTimings {
  const pair = kind === 'udp' ? UDP[mode] : STREAM[mode];
  if (!pair) throw new Error(`sense mode ${mode} does not exist for ${kind === 'udp' ? 'UDP' : kind.toUpperCase()}`);
  return { intervalMs: pair[0], timeoutMs: pair[1], checkIntervalMs: 2000 };
}
