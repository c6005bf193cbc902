import { IMCore } from '../../lib/core/im-core';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('C2C (PROTOCOL §10.2)', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], manualClock: true });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it.each([
    ['tcp', 'ws'],
    ['ws', 'udp'],
    ['udp', 'tcp'],
    ['tcp', 'tcp'],
  ] as const)('forwards %s → %s with QoS: recipient first, then the server ACKs the sender on its behalf', async (from, to) => {
    const a = await im.login(from, 'alice');
    const b = await im.login(to, 'bob');
    const fp = a.c2c('bob', 'héllo <b>&\'= 😀 你好', { typeu: 7 });
    const msg = await b.expect({ type: 2, from: 'alice', to: 'bob', fp, QoS: true, typeu: 7, sm: -1 });
    expect(msg.dataContent).toBe('héllo <b>&\'= 😀 你好');
    await a.expect({ type: 4, dataContent: fp, from: 'bob', to: 'alice', QoS: false, typeu: -1, sm: -1 });
    b.ack(msg);
    await until(() => handlers.delivered.length > 0);
    await a.expectNothing(100);
    expect(handlers.delivered).toEqual([fp]);
    expect(handlers.calls).toEqual([
      'login:alice', 'loginSuccess:alice', 'login:bob', 'loginSuccess:bob', 'c2c:héllo <b>&\'= 😀 你好', `c2cDelivered:${fp}`,
    ]);
  });

  it('relays the parsed packet: bridge and sm kept, missing typeu becomes 0, unknown keys dropped', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('tcp', 'bob');
    a.sendText('{"bridge":true,"type":2,"dataContent":"pass","from":"alice","to":"bob","fp":"m3","QoS":true,"sm":12345,"custom":"x"}');
    await b.expect({ type: 2 });
    expect(b.rawLog[1]).toBe('{"bridge":true,"type":2,"dataContent":"pass","from":"alice","to":"bob","fp":"m3","QoS":true,"typeu":0,"sm":12345}');
  });

  it('delivers to self: the message first, then the ACK', async () => {
    const a = await im.login('ws', 'alice');
    const fp = a.c2c('alice', 'note to self');
    await a.expect({ type: 2, fp });
    await a.expect({ type: 4, dataContent: fp, from: 'alice', to: 'alice' });
  });

  it('without QoS: forwarded, no ACK to anyone', async () => {
    const a = await im.login('udp', 'alice');
    const b = await im.login('tcp', 'bob');
    a.c2c('bob', 'fire and forget', { qos: false });
    const msg = await b.expect({ type: 2 });
    expect(msg.fp).toBeUndefined();
    await a.expectNothing(150);
  });

  it('offline recipient and the offline hook returns false: no ACK (the sender retransmits)', async () => {
    const a = await im.login('tcp', 'alice');
    a.c2c('nobody', 'are you there?');
    await a.expectNothing(200);
    expect(handlers.calls).toContain('offline:nobody');
  });

  it('offline recipient and the offline hook stores it: the sender gets the ACK', async () => {
    handlers.storeOffline = true;
    const a = await im.login('tcp', 'alice');
    const fp = a.c2c('nobody', 'store me');
    await a.expect({ type: 4, dataContent: fp, from: 'nobody', to: 'alice' });
  });

  it('a vetoing @OnC2C handler stops the message: nothing forwarded, no ACK', async () => {
    handlers.vetoC2C = true;
    const a = await im.login('tcp', 'alice');
    const b = await im.login('tcp', 'bob');
    a.c2c('bob', 'blocked');
    await b.expectNothing(150);
    await a.expectNothing(50);
  });

  it('retransmits once to the recipient\'s current session, then keeps the packet in the message store for its next login', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('ws', 'bob');
    const fp = a.c2c('bob', 'retransmit me');
    await b.expect({ type: 2, fp });
    await a.expect({ type: 4, dataContent: fp });
    a.logout();
    im.clock!.advance(1_900);
    await b.expectNothing(50);
    im.clock!.advance(2_200);
    await b.expect({ type: 2, fp, dataContent: 'retransmit me' });
    im.clock!.advance(4_100);
    const store = im.app.get(IMCore).store!;
    await until(async () => (await store.count('bob')) === 1);
    await b.expectNothing(50);
    expect(handlers.lost).toEqual([]);
    b.close();
    const again = await im.login('tcp', 'bob');
    const redelivered = await again.expect({ type: 2, fp, dataContent: 'retransmit me' });
    again.ack(redelivered);
    await until(async () => (await store.count('bob')) === 0);
  });

  it('without a message store (store: false): retransmits once, then reports the packet lost', async () => {
    await im.close();
    im = await startIMTestingApp({ providers: [RecordingHandlers], manualClock: true, im: { store: false } });
    handlers = im.app.get(RecordingHandlers);
    const a = await im.login('tcp', 'alice');
    const b = await im.login('ws', 'bob');
    const fp = a.c2c('bob', 'retransmit me');
    await b.expect({ type: 2, fp });
    await a.expect({ type: 4, dataContent: fp });
    im.clock!.advance(4_100);
    await b.expect({ type: 2, fp, dataContent: 'retransmit me' });
    im.clock!.advance(4_100);
    await until(() => handlers.lost.length === 1);
    expect(handlers.lost.map((p) => p.fp)).toEqual([fp]);
  });

  it('the recipient\'s ACK stops the retransmission', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('udp', 'bob');
    const fp = a.c2c('bob', 'ack me');
    b.ack(await b.expect({ type: 2, fp }));
    await until(() => im.core.pendingQoS === 0); // the ACK is in before time moves on
    im.clock!.advance(10_000);
    await b.expectNothing(100);
    expect(handlers.lost).toEqual([]);
  });

  it('refuses a packet too large for the recipient\'s SDK as a failed send (QUIRK-17 fix)', async () => {
    const a = await im.login('tcp', 'alice');
    const b = await im.login('udp', 'bob');
    a.c2c('bob', 'x'.repeat(1200));
    await b.expectNothing(150);
    expect(handlers.calls).toContain('offline:bob');
    expect(im.core.stats.outboundTooLarge).toBe(1);
  });
});
