import { SenseMode, senseModeTimings, streamIdleTimeoutMs, udpIdleTimeoutMs } from '../../lib/protocol/sense-mode';

/** PROTOCOL §5.1: sense mode → server read-idle timeout in seconds. */
const TABLE: Array<[SenseMode, number, number | null]> = [
  ['3S', 7, 10],
  ['5S', 11, null],
  ['10S', 15, 21],
  ['15S', 20, null],
  ['30S', 35, 62],
  ['60S', 65, 122],
  ['120S', 125, 242],
  ['DEFAULT', 20, 10],
];

describe('sense modes (PROTOCOL §5.1)', () => {
  describe('streamIdleTimeoutMs (TCP / WebSocket)', () => {
    it.each(TABLE)('%s → %i s', (mode, tcpS) => {
      expect(streamIdleTimeoutMs(mode)).toBe(tcpS * 1000);
    });

    it('follows 3×2+1 and 5×2+1 for the short modes and N+5 for the others', () => {
      expect(streamIdleTimeoutMs('3S')).toBe((3 * 2 + 1) * 1000);
      expect(streamIdleTimeoutMs('5S')).toBe((5 * 2 + 1) * 1000);
      for (const n of [10, 15, 30, 60, 120]) {
        expect(streamIdleTimeoutMs(`${n}S` as SenseMode)).toBe((n + 5) * 1000);
      }
    });

    it('gives the recorded demo server value for 5S (11 s)', () => {
      expect(streamIdleTimeoutMs('5S')).toBe(11_000);
    });

    it('throws for an unknown mode', () => {
      expect(() => streamIdleTimeoutMs('7S' as SenseMode)).toThrow(/unknown sense mode 7S/);
    });
  });

  describe('udpIdleTimeoutMs', () => {
    it.each(TABLE.filter(([, , udp]) => udp !== null))('%s (TCP %i s) → UDP %i s', (mode, _tcp, udpS) => {
      expect(udpIdleTimeoutMs(mode)).toBe((udpS as number) * 1000);
    });

    it('gives the recorded demo server value when not set (10 s)', () => {
      expect(udpIdleTimeoutMs('DEFAULT')).toBe(10_000);
    });

    it.each<SenseMode>(['5S', '15S'])('throws for %s, which does not exist for UDP', (mode) => {
      expect(() => udpIdleTimeoutMs(mode)).toThrow(`sense mode ${mode} does not exist for UDP`);
    });

    it('throws for an unknown mode', () => {
      expect(() => udpIdleTimeoutMs('7S' as SenseMode)).toThrow(/does not exist for UDP/);
    });
  });
});

describe('one sense-mode table for client and server (lib/protocol/sense-mode.ts)', () => {
  const modes: SenseMode[] = ['3S', '5S', '10S', '15S', '30S', '60S', '120S', 'DEFAULT'];

  it.each(modes)('%s: the server waits at least as long as the TCP/WS client before dropping a silent session', (mode) => {
    const client = senseModeTimings(mode, 'tcp');
    expect(streamIdleTimeoutMs(mode)).toBeGreaterThanOrEqual(client.timeoutMs);
    expect(client.timeoutMs).toBeGreaterThan(client.intervalMs);
    expect(senseModeTimings(mode, 'ws')).toEqual(client);
  });

  it.each(modes.filter((m) => m !== '5S' && m !== '15S'))('%s: the same holds on UDP', (mode) => {
    const client = senseModeTimings(mode, 'udp');
    expect(udpIdleTimeoutMs(mode)).toBeGreaterThanOrEqual(client.timeoutMs);
    expect(client.timeoutMs).toBeGreaterThan(client.intervalMs);
  });
});
