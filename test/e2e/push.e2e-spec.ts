import { firstValueFrom, take, toArray } from 'rxjs';
import { IMEvent } from '../../lib';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('PushService (S2C, PROTOCOL §10.3)', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], manualClock: true });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it('settles "delivered" when the client ACKs', async () => {
    const a = await im.login('tcp', 'alice');
    const result = im.push.send('alice', { title: 'hi' }, { typeu: 9 });
    const p = await a.expect({ type: 2, from: '0', to: 'alice', QoS: true, typeu: 9, sm: -1 });
    expect(p.dataContent).toBe('{"title":"hi"}');
    expect(p.fp).toMatch(/^[0-9a-f-]{36}$/);
    a.ack(p);
    expect(await result).toEqual({ userId: 'alice', status: 'delivered', fp: p.fp });
    expect(handlers.delivered).toEqual([p.fp]);
  });

  it('settles "lost" after one retransmission when the client never ACKs', async () => {
    const a = await im.login('ws', 'alice');
    let settled = false;
    const result = im.push.send('alice', 'ignored', { fp: 'never-acked' });
    void result.then(() => (settled = true));
    await a.expect({ type: 2, fp: 'never-acked' });
    im.clock!.advance(4_100);
    await a.expect({ type: 2, fp: 'never-acked' });
    expect(settled).toBe(false);
    im.clock!.advance(4_100);
    expect(await result).toEqual({ userId: 'alice', status: 'lost', fp: 'never-acked' });
    expect(handlers.lost.map((p) => p.fp)).toEqual(['never-acked']);
  });

  it('settles "offline" at once for a user with no session, and "sent" without QoS', async () => {
    expect(await im.push.send('nobody', 'x')).toMatchObject({ userId: 'nobody', status: 'offline' });
    const a = await im.login('udp', 'alice');
    expect(await im.push.send('alice', 'plain', { qos: false })).toEqual({ userId: 'alice', status: 'sent', fp: undefined });
    expect((await a.expect({ type: 2 })).QoS).toBe(false);
  });

  it('sends to many users and broadcasts to everyone online, each with its own outcome', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('ws', 'bob');
    const results = im.push.sendMany(['alice', 'bob', 'nobody'], 'news');
    a.ack(await a.expect({ type: 2 }));
    b.ack(await b.expect({ type: 2 }));
    expect((await results).map((r) => `${r.userId}:${r.status}`)).toEqual(['alice:delivered', 'bob:delivered', 'nobody:offline']);
    const all = im.push.broadcast('to all', { qos: false });
    await a.expect({ type: 2, dataContent: 'to all' });
    await b.expect({ type: 2, dataContent: 'to all' });
    expect((await all).map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('an ACK from another user does not settle the packet (QUIRK-6 fix)', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('tcp', 'bob');
    const result = im.push.send('alice', 'for alice', { fp: 'alice-only' });
    await a.expect({ type: 2 });
    b.send({ type: 4, dataContent: 'alice-only', to: '0' });
    // A session's packets are handled in order: once bob's keepalive is answered, his ACK was handled.
    b.keepalive();
    await b.expect({ type: 51 });
    expect(im.core.pendingQoS).toBe(1);
    a.send({ type: 4, dataContent: 'alice-only', to: '0' });
    expect((await result).status).toBe('delivered');
  });

  it('kicks a user with code 2 and a reason, and the logout hook sees code 2', async () => {
    const a = await im.login('tcp', 'alice');
    expect(await im.push.kick('alice', 'banned')).toBe(true);
    const kick = await a.expect({ type: 54 });
    expect(JSON.parse(kick.dataContent as string)).toEqual({ code: 2, reason: 'banned' });
    await a.expectClosed();
    expect(handlers.logouts).toEqual([{ userId: 'alice', kickCode: 2 }]);
    expect(await im.push.kick('alice')).toBe(false);
  });

  it('reports presence and publishes session and delivery events', async () => {
    const events = firstValueFrom(im.push.events$.pipe(take(3), toArray()));
    const a = await im.login('tcp', 'alice');
    expect(im.push.isOnline('alice')).toBe(true);
    expect(im.push.onlineCount).toBe(1);
    expect(im.push.onlineUsers()).toEqual(['alice']);
    const sent = im.push.send('alice', 'e', { fp: 'ev-1' });
    a.ack(await a.expect({ type: 2 }));
    await sent;
    a.logout();
    const seen = (await events).map((e: IMEvent) => `${e.type}:${e.userId}`);
    expect(seen).toEqual(['online:alice', 'delivered:alice', 'offline:alice']);
  });
});
