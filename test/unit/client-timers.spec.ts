import {
  DEFAULT_QOS_TIMINGS,
  KeepaliveTimer,
  newFingerprint,
  PacketQueue,
  QoSOutcome,
  QoSOutbox,
  ReceivedFingerprints,
  senseModeTimings,
} from '../../lib/client';
import { serverPacket } from '../../lib/protocol/packet';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('QoSOutbox (SDK timings)', () => {
  it('resends unchanged at about 5 s and 10 s and reports lost at about 15 s', async () => {
    const resent: Array<[number, string]> = [];
    const start = Date.now();
    const table = new QoSOutbox(DEFAULT_QOS_TIMINGS, (body) => resent.push([Date.now() - start, body]));
    let outcome: QoSOutcome | undefined;
    void table.track('fp1', 'BODY').then((o) => (outcome = o));
    await jest.advanceTimersByTimeAsync(14_999);
    expect(resent).toEqual([[5000, 'BODY'], [10_000, 'BODY']]);
    expect(outcome).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(outcome).toBe('lost');
    expect(table.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('skips a packet within its 3 s grace, settles on ACK and stops its timer', async () => {
    const resent: string[] = [];
    const table = new QoSOutbox(DEFAULT_QOS_TIMINGS, (b) => resent.push(b));
    const first = table.track('a', 'A');
    await jest.advanceTimersByTimeAsync(3000);
    const second = table.track('b', 'B');
    await jest.advanceTimersByTimeAsync(2000); // tick at 5 s: A is 5 s old, B 2 s old
    expect(resent).toEqual(['A']);
    expect(table.acknowledge('a')).toBe(true);
    expect(table.acknowledge('a')).toBe(false);
    await expect(first).resolves.toBe('delivered');
    expect(table.track('b', 'B again')).toBe(second);
    table.failAll();
    await expect(second).resolves.toBe('lost');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('counts a resend that throws (link down) and still ends in lost', async () => {
    const table = new QoSOutbox({ checkIntervalMs: 10, graceMs: 0, maxResends: 2 }, () => {
      throw new Error('down');
    });
    const p = table.track('x', 'X');
    await jest.advanceTimersByTimeAsync(30);
    await expect(p).resolves.toBe('lost');
  });
});

describe('KeepaliveTimer', () => {
  it('sends one interval after start and times out after the silence since the first keepalive', async () => {
    const sent: number[] = [];
    let lostAt: number | undefined;
    const start = Date.now();
    const timer = new KeepaliveTimer(
      senseModeTimings('5S', 'tcp'),
      () => sent.push(Date.now() - start),
      () => (lostAt = Date.now() - start),
    );
    timer.start();
    await jest.advanceTimersByTimeAsync(12_000);
    expect(sent).toEqual([5000, 10_000]);
    // First keepalive at 5 s, no answer: lost at the first 2 s check past 5 + 8 s.
    await jest.advanceTimersByTimeAsync(10_000);
    expect(lostAt).toBe(14_000);
    expect(timer.running).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stays up while answered', async () => {
    let lost = false;
    const timer = new KeepaliveTimer({ intervalMs: 1000, timeoutMs: 1500, checkIntervalMs: 200 }, () => timer.answered(), () => (lost = true));
    timer.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(lost).toBe(false);
    timer.stop();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('senseModeTimings', () => {
  it('has the SDK presets per transport', () => {
    expect(senseModeTimings('DEFAULT', 'tcp')).toEqual({ intervalMs: 15_000, timeoutMs: 20_000, checkIntervalMs: 2000 });
    expect(senseModeTimings('5S', 'ws')).toMatchObject({ intervalMs: 5000, timeoutMs: 8000 });
    expect(senseModeTimings('DEFAULT', 'udp')).toMatchObject({ intervalMs: 3000, timeoutMs: 10_000 });
    expect(senseModeTimings('10S', 'udp')).toMatchObject({ intervalMs: 10_000, timeoutMs: 21_000 });
    expect(() => senseModeTimings('5S', 'udp')).toThrow('does not exist for UDP');
  });
});

describe('ReceivedFingerprints', () => {
  it('reports repeats within the TTL, forgets after it, and stays bounded', () => {
    let now = 0;
    const seen = new ReceivedFingerprints(600_000, 3, () => now);
    expect(seen.checkAndRecord('a')).toBe(false);
    expect(seen.checkAndRecord('a')).toBe(true);
    now = 599_999;
    expect(seen.checkAndRecord('a')).toBe(true); // refreshed at 599,999
    now = 1_199_999;
    expect(seen.checkAndRecord('a')).toBe(false);
    for (const fp of ['b', 'c', 'd']) seen.checkAndRecord(fp);
    expect(seen.size).toBe(3);
    expect(seen.checkAndRecord('a')).toBe(false); // evicted by the size bound
  });
});

describe('PacketQueue', () => {
  it('hands packets to matching waiters first, queues the rest and drops the oldest when full', async () => {
    const q = new PacketQueue(2);
    const waiting = q.take((p) => p.type === 53, 1000);
    q.push(serverPacket(51, 'u'));
    q.push(serverPacket(53, 'u', 'echo'));
    await expect(waiting).resolves.toMatchObject({ type: 53 });
    q.push(serverPacket(4, 'u'));
    q.push(serverPacket(2, 'u'));
    expect(q.dropped).toBe(1);
    await expect(q.take(() => true, 10)).resolves.toMatchObject({ type: 4 });
    const late = q.take((p) => p.type === 99, 100);
    jest.advanceTimersByTime(100);
    await expect(late).rejects.toThrow('within 100 ms');
    expect(q.drain().map((p) => p.type)).toEqual([2]);
  });
});

describe('newFingerprint', () => {
  it('makes distinct v4 UUIDs', () => {
    const a = newFingerprint();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newFingerprint()).not.toBe(a);
  });
});
