import * as net from 'net';
import { WebSocket } from 'ws';
import { DeliveryResult, IMEvent, PushService } from '../../lib';
import { encodeTcpFrame } from '../../lib/protocol/tcp-frame-decoder';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** A client that logs in, then stops reading (its socket paused): the server's buffer for it grows. */
interface StalledClient {
  closed: () => boolean;
  /** Reads again (and so sees the close). */
  resume: () => void;
  destroy: () => void;
}

const loginText = (userId: string) =>
  JSON.stringify({ type: 0, from: userId, to: '0', dataContent: JSON.stringify({ loginUserId: userId, loginToken: `token-${userId}` }) });

async function stalledClient(kind: 'tcp' | 'ws', port: number, userId: string): Promise<StalledClient> {
  if (kind === 'tcp') {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.write(encodeTcpFrame(loginText(userId)));
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause();
    return { closed: () => closed, resume: () => socket.resume(), destroy: () => socket.destroy() };
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let closed = false;
  ws.on('close', () => (closed = true));
  ws.on('error', () => undefined);
  ws.send(loginText(userId));
  await new Promise((resolve) => ws.once('message', resolve));
  ws.pause();
  return { closed: () => closed, resume: () => ws.resume(), destroy: () => ws.terminate() };
}

describe('slow consumers (issue 11 item 2)', () => {
  let im: IMTestingApp;
  afterEach(() => im.close());

  it.each(['tcp', 'ws'] as const)('closes a %s client that does not read, reports its unACKed packets, and others keep chatting', async (kind) => {
    im = await startIMTestingApp({
      providers: [RecordingHandlers],
      im: { tcp: { maxBufferedBytes: 64 * 1024 }, ws: { maxBufferedBytes: 64 * 1024 } },
    });
    const handlers = im.app.get(RecordingHandlers);
    const push = im.app.get(PushService);
    const events: IMEvent[] = [];
    const sub = push.events$.subscribe((e) => events.push(e));
    const alice = await im.login(kind, 'alice');
    const bob = await im.login(kind, 'bob');
    const slow = await stalledClient(kind, kind === 'tcp' ? im.ports.tcp! : im.ports.ws!, 'slow');
    await until(() => push.isOnline('slow'));

    // Fill the stalled client's buffers (the kernel's first, then the server's) until it is closed,
    // while alice and bob keep chatting: the stalled one must not hold them up.
    const results: Promise<DeliveryResult>[] = [];
    const body = 'x'.repeat(5000);
    for (let batch = 0; batch < 400 && im.core.stats.slowConsumers === 0; batch++) {
      for (let i = 0; i < 10; i++) results.push(push.send('slow', body));
      const fp = alice.c2c('bob', `during ${batch}`);
      bob.ack(await bob.expect({ type: 2, fp }));
      await alice.expect({ type: 4, dataContent: fp });
    }
    expect(im.core.stats.slowConsumers).toBe(1);
    slow.resume();
    await until(() => slow.closed());
    slow.destroy();

    const outcomes = await Promise.all(results);
    const lost = outcomes.filter((r) => r.status === 'lost');
    // Every push is accounted for: written and then reported lost with the session, or refused once it was closed.
    expect(lost.length + outcomes.filter((r) => r.status === 'offline').length).toBe(outcomes.length);
    expect(lost.length).toBeGreaterThan(0);
    await until(() => handlers.lost.length === lost.length);
    expect(im.core.pendingQoS).toBe(0);
    expect(events).toContainEqual(expect.objectContaining({ type: 'offline', userId: 'slow', reason: 'IM_SLOW_CONSUMER', closeReason: 'slow-consumer' }));
    sub.unsubscribe();

    // The others are untouched.
    const fp = alice.c2c('bob', 'after');
    await bob.expect({ type: 2, fp });
    expect(push.isOnline('alice') && push.isOnline('bob')).toBe(true);
  });
});
