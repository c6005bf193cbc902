import { IMTestClient, IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

/**
 * Issue 11 item 1, the load rows at small rates: a TCP or WebSocket session
 * over its packet budget is no longer read, so its sender slows down; nothing
 * is dropped, nothing is delivered twice, and ACKs and keepalives never spend
 * the data budget.
 */

/** What one receiver got and one sender had ACKed. */
interface PairResult {
  sent: string[];
  received: string[];
  acked: Set<string>;
  errors: number;
}

/**
 * Sends `count` QoS C2C messages from `sender` to `receiver` with at most
 * `window` un-ACKed, the receiver ACKing each as the SDKs do. Never resends:
 * any loss would show as a missing message.
 */
async function runPair(sender: IMTestClient, receiver: IMTestClient, count: number, window: number): Promise<PairResult> {
  const r: PairResult = { sent: [], received: [], acked: new Set(), errors: 0 };
  await until(
    () => {
      for (const p of receiver.inbox.splice(0)) {
        if (p.type === 2) {
          receiver.ack(p);
          r.received.push(p.fp as string);
        }
      }
      for (const p of sender.inbox.splice(0)) {
        if (p.type === 4) r.acked.add(p.dataContent as string);
        else if (p.type === 52) r.errors++;
      }
      while (r.sent.length < count && r.sent.length - r.acked.size < window) {
        r.sent.push(sender.c2c(receiver.userId as string, `m${r.sent.length}`));
      }
      return r.acked.size === count && r.received.length >= count;
    },
    { timeoutMs: 30_000, intervalMs: 5, message: `${sender.userId} → ${receiver.userId}: ${count} messages` },
  );
  return r;
}

describe('backpressure instead of loss (issue 11)', () => {
  let im: IMTestingApp;
  afterEach(() => im.close());

  it('many pairs with 10 in flight each over TCP and WebSocket: every message delivered once, in order, paced by the rate', async () => {
    // The sample app's shape at a tenth of its rate: 20 packets/s, burst 10 per session.
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { limits: { packetsPerSecond: 20, burst: 10 } } });
    const pairs: [IMTestClient, IMTestClient][] = [];
    for (let i = 0; i < 8; i++) {
      const kind = i % 2 === 0 ? 'tcp' : 'ws';
      pairs.push([await im.login(kind, `s${i}`), await im.login(kind, `r${i}`)]);
    }
    const results = await Promise.all(pairs.map(([s, r]) => runPair(s, r, 30, 10)));
    for (const r of results) {
      expect(r.received).toEqual(r.sent);
      expect(r.acked.size).toBe(30);
      expect(r.errors).toBe(0);
    }
    // 30 messages against a burst of 10: every sender was paused at least once.
    expect(im.core.stats.readPauses).toBeGreaterThanOrEqual(8);
    expect(im.core.stats.rateLimited).toBe(0);
    await until(() => im.core.pendingQoS === 0);
    expect(im.core.stats).toMatchObject({ lost: 0, retransmits: 0, queueOverflow: 0, delivered: 240 });
  });

  it.each(['tcp', 'ws'] as const)('one %s sender with 300 messages in flight: all delivered once, in order', async (kind) => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { limits: { packetsPerSecond: 200, burst: 40 } } });
    const sender = await im.login(kind, 'flusher');
    const receiver = await im.login(kind, 'reader');
    const r = await runPair(sender, receiver, 300, 300);
    expect(r.received).toEqual(r.sent);
    expect(r.errors).toBe(0);
    expect(im.core.stats.readPauses).toBeGreaterThanOrEqual(1);
    expect(im.core.stats).toMatchObject({ rateLimited: 0, lost: 0, queueOverflow: 0 });
  });

  it.each(['tcp', 'ws'] as const)('a flooded %s user: its ACKs and keepalives are always answered and its own messages go through', async (kind) => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { limits: { packetsPerSecond: 50, burst: 10 } } });
    const victim = await im.login(kind, 'victim');
    const friend = await im.login(kind, 'friend');
    const flooders = [await im.login(kind, 'f1'), await im.login(kind, 'f2'), await im.login(kind, 'f3')];
    // 3 × 60 messages at 50/s each: the victim must ACK 150 messages a second, three times its data budget.
    const floodFps = flooders.map((f) => Array.from({ length: 60 }, (_, i) => f.c2c('victim', `flood${i}`)));
    const own = Array.from({ length: 30 }, (_, i) => victim.c2c('friend', `own${i}`));
    for (let i = 0; i < 6; i++) victim.keepalive();
    const received: string[] = [];
    const ownAcks = new Set<string>();
    let keepalives = 0;
    let errors = 0;
    await until(
      () => {
        for (const p of victim.inbox.splice(0)) {
          if (p.type === 2) {
            victim.ack(p);
            received.push(p.fp as string);
          } else if (p.type === 4) ownAcks.add(p.dataContent as string);
          else if (p.type === 51) keepalives++;
          else if (p.type === 52) errors++;
        }
        for (const p of friend.inbox.splice(0)) if (p.type === 2) friend.ack(p);
        return received.length >= 180 && ownAcks.size >= 30 && keepalives >= 6;
      },
      { timeoutMs: 30_000, intervalMs: 5, message: 'the flooded user caught up' },
    );
    expect(keepalives).toBe(6);
    expect(errors).toBe(0);
    expect([...ownAcks].sort()).toEqual([...own].sort());
    expect(received.sort()).toEqual(floodFps.flat().sort());
    await until(() => im.core.pendingQoS === 0);
    expect(im.core.stats).toMatchObject({ rateLimited: 0, lost: 0, retransmits: 0, delivered: 210 });
    for (const f of flooders) expect(f.inbox.filter((p) => p.type === 4)).toHaveLength(60);
  });

  it.each(['tcp', 'ws'] as const)('a paced %s sender resending a message already ACKed gets the ACK again; the recipient gets it once', async (kind) => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { limits: { packetsPerSecond: 20, burst: 5 } } });
    const sender = await im.login(kind, 'pacedsender');
    const receiver = await im.login(kind, 'pacedreader');
    const fps = Array.from({ length: 10 }, (_, i) => sender.c2c('pacedreader', `m${i}`));
    await until(() => sender.inbox.filter((p) => p.type === 4).length === 10 && receiver.inbox.filter((p) => p.type === 2).length === 10);
    expect(im.core.stats.readPauses).toBeGreaterThanOrEqual(1);
    // Its SDK resends the last one, whose ACK came late.
    sender.c2c('pacedreader', 'm9', { fp: fps[9] });
    await until(() => sender.inbox.filter((p) => p.type === 4).length === 11);
    expect(sender.inbox.filter((p) => p.type === 4).map((p) => p.dataContent)).toEqual([...fps, fps[9]]);
    expect(im.core.stats.c2cResendsSuppressed).toBe(1);
    // A message the server has not seen yet still goes through.
    const fresh = sender.c2c('pacedreader', 'fresh');
    await until(() => receiver.inbox.some((p) => p.fp === fresh));
    expect(receiver.inbox.filter((p) => p.type === 2).map((p) => p.fp)).toEqual([...fps, fresh]);
  });
});
