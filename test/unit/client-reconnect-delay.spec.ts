import { DEFAULT_RECONNECT_BACKOFF, reconnectDelay } from '../../lib/client';

describe('reconnectDelay', () => {
  const noJitter = { ...DEFAULT_RECONNECT_BACKOFF, jitter: 0 };

  it('grows by the factor from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelay(a, noJitter))).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    expect(reconnectDelay(1000, noJitter)).toBe(15_000);
  });

  it('randomises only the jitter share of the delay', () => {
    const b = { ...DEFAULT_RECONNECT_BACKOFF, jitter: 0.3 };
    expect(reconnectDelay(2, b, () => 0)).toBe(1400);
    expect(reconnectDelay(2, b, () => 0.5)).toBe(1700);
    expect(reconnectDelay(2, b, () => 1)).toBe(2000);
  });

  it('clamps a jitter outside 0-1', () => {
    expect(reconnectDelay(0, { ...noJitter, jitter: 5 }, () => 0)).toBe(0);
    expect(reconnectDelay(0, { ...noJitter, jitter: -1 }, () => 0)).toBe(500);
  });
});
