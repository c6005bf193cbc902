/**
 * MobileIMSDK keepalive "sense modes" (PROTOCOL.md §5.1). The server's idle
 * timeout must match the mode the clients are built with.
 */
export type SenseMode = '3S' | '5S' | '10S' | '15S' | '30S' | '60S' | '120S' | 'DEFAULT';

const STREAM_TIMEOUT_S: Record<SenseMode, number> = {
  '3S': 7, '5S': 11, '10S': 15, '15S': 20, '30S': 35, '60S': 65, '120S': 125, DEFAULT: 20,
};
const UDP_TIMEOUT_S: Partial<Record<SenseMode, number>> = {
  '3S': 10, '10S': 21, '30S': 62, '60S': 122, '120S': 242, DEFAULT: 10,
};

/** Server idle timeout in ms for a TCP or WebSocket session under `mode`. */
export function streamIdleTimeoutMs(mode: SenseMode): number {
  const s = STREAM_TIMEOUT_S[mode];
  if (s === undefined) throw new Error(`unknown sense mode ${mode}`);
  return s * 1000;
}

/** Server idle timeout in ms for a UDP session under `mode`; 5S and 15S do not exist for UDP. */
export function udpIdleTimeoutMs(mode: SenseMode): number {
  const s = UDP_TIMEOUT_S[mode];
  if (s === undefined) throw new Error(`sense mode ${mode} does not exist for UDP`);
  return s * 1000;
}
