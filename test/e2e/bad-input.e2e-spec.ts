import { encodeTcpFrame } from '../../lib';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

const loginFrame = (userId: string) =>
  encodeTcpFrame(JSON.stringify({ type: 0, from: userId, to: '0', dataContent: JSON.stringify({ loginUserId: userId, loginToken: `token-${userId}`, firstLoginTime: 0 }) }));
const keepaliveFrame = (userId: string) => encodeTcpFrame(JSON.stringify({ type: 1, from: userId, to: '0', dataContent: '{}' }));

describe('bad input (PROTOCOL §11): a clear answer, nothing lost, nobody else disturbed', () => {
  let im: IMTestingApp;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers] });
  });
  afterEach(() => im.close());

  /** A bystander that must see its chat keep working after every test. */
  async function bystandersStillChat(): Promise<void> {
    const x = await im.login('tcp', `x${Math.random()}`);
    const y = await im.login('ws', `y${Math.random()}`);
    const fp = x.c2c(y.userId!, 'still fine');
    y.ack(await y.expect({ type: 2, fp }));
    await x.expect({ type: 4, dataContent: fp });
  }

  it.each(['{"type":1,', '{"type":5,"dataContent":"x"} trailing', 'not json at all', '[1,2,3]', 'null', '"str"', '{"type":5.5}', '{"QoS":1}', '{"dataContent":{"a":1}}'])(
    'closes TCP on %s without a response',
    async (text) => {
      const a = await im.login('tcp', 'alice');
      a.sendText(text);
      await a.expectClosed();
      expect(a.rawLog).toHaveLength(1);
      expect(im.push.isOnline('alice')).toBe(false);
      await bystandersStillChat();
    },
  );

  it('closes TCP on an empty frame, and "{}" is a login without info (closed)', async () => {
    const a = await im.connect('tcp');
    a.sendRaw(Buffer.from([0, 0, 0, 0]));
    await a.expectClosed();
    const b = await im.connect('tcp');
    b.sendText('{}');
    await b.expectClosed();
  });

  it('closes a WebSocket with 1000 on malformed JSON and on a binary frame', async () => {
    const a = await im.connect('ws');
    a.sendText('{"type":5,');
    expect((await a.expectClosed()).code).toBe(1000);
    const b = await im.connect('ws');
    b.sendRaw(Buffer.from('{"type":5,"dataContent":"bin"}'));
    expect((await b.expectClosed()).code).toBe(1000);
    expect(b.rawLog).toEqual([]);
  });

  it('drops a malformed UDP datagram and keeps the session logged in (QUIRK-9 fix)', async () => {
    const u = await im.login('udp', 'alice');
    u.sendText('{"type":1,');
    await u.expectNothing(150);
    u.keepalive();
    await u.expect({ type: 51 });
    expect(im.core.stats.badInput).toBe(1);
  });

  it('accepts a TCP body of exactly 6144 bytes and closes at once on a header announcing 6145 or 0xFFFFFFFF', async () => {
    const a = await im.login('tcp', 'alice');
    const pad = 6144 - Buffer.byteLength('{"type":5,"dataContent":""}');
    a.sendText(`{"type":5,"dataContent":"${'x'.repeat(pad)}"}`);
    expect((await a.expect({ type: 53 })).dataContent).toHaveLength(pad);
    for (const header of [[0, 0, 0x18, 0x01], [0xff, 0xff, 0xff, 0xff]]) {
      const b = await im.connect('tcp');
      b.sendRaw(Buffer.from(header));
      await b.expectClosed(1000);
    }
    expect(a.isOpen).toBe(true);
  });

  it('closes a WebSocket with 1009 on a message over 64 KiB', async () => {
    const a = await im.login('ws', 'alice');
    a.sendText(`{"type":5,"dataContent":"${'x'.repeat(70_000)}"}`);
    expect((await a.expectClosed()).code).toBe(1009);
  });

  it('drops a UDP datagram over 2048 bytes, processes one of exactly 2048', async () => {
    const u = await im.login('udp', 'alice');
    const head = '{"type":2,"from":"alice","to":"0","fp":"big","QoS":true,"dataContent":"';
    const exact = `${head}${'x'.repeat(2048 - head.length - 2)}"}`;
    expect(Buffer.byteLength(exact)).toBe(2048);
    u.sendText(exact);
    await u.expect({ type: 4, dataContent: 'big' });
    u.sendText(exact.replace('"x', '"xx'));
    await u.expectNothing(150);
    u.keepalive();
    await u.expect({ type: 51 });
  });

  it('ignores unknown types on every transport, logged in or not', async () => {
    for (const kind of ['tcp', 'ws', 'udp'] as const) {
      const a = await im.connect(kind);
      a.send({ type: 77, dataContent: 'x' });
      await a.expectNothing(100);
      await a.login(`u-${kind}`);
      a.send({ type: 7 });
      a.keepalive();
      await a.expect({ type: 51 });
    }
  });

  it('reassembles a frame split across many writes and splits many frames from one write', async () => {
    const a = await im.connect('tcp');
    const bytes = Buffer.concat([loginFrame('alice'), keepaliveFrame('alice')]);
    for (const byte of bytes) {
      a.sendRaw(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve)); // one write per byte, not one coalesced write
    }
    await a.expect({ type: 50 });
    await a.expect({ type: 51 });
    a.sendRaw(Buffer.concat(Array.from({ length: 20 }, () => keepaliveFrame('alice'))));
    for (let i = 0; i < 20; i++) await a.expect({ type: 51 });
  });
});

describe('security defaults', () => {
  let im: IMTestingApp;

  beforeEach(async () => {
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { limits: { packetsPerSecond: 50, burst: 20 } } });
  });
  afterEach(() => im.close());

  it.each(['tcp', 'ws'] as const)('answers keepalive, data and ACK before login with 301 quoting the packet, then closes %s', async (kind) => {
    for (const type of [1, 2, 4]) {
      const a = await im.connect(kind);
      a.send({ type, from: 'alice', to: '0', dataContent: '{}' });
      const err = await a.expect({ type: 52, from: '0', to: '-1' });
      const body = JSON.parse(err.dataContent as string);
      expect(body.errorCode).toBe(301);
      expect(body.errorMsg).toBe(`{"bridge":false,"type":${type},"dataContent":"{}","from":"alice","to":"0","QoS":false,"typeu":-1,"sm":-1}`);
      await a.expectClosed();
    }
  });

  it('answers data before login on UDP with 301 and keeps the address usable', async () => {
    const u = await im.connect('udp');
    // Big enough for the 301 without its quoted packet: a stranger gets no more bytes than it sent.
    u.send({ type: 2, from: 'alice', to: 'bob', dataContent: 'x'.repeat(100) });
    const err = await u.expect({ type: 52 });
    expect(JSON.parse(err.dataContent as string)).toEqual({ errorCode: 301, errorMsg: '' });
    expect((await u.login('alice')).code).toBe(0);
  });

  it('refuses a forged from with error 403: never forwarded, never ACKed (QUIRK-5 fix)', async () => {
    const mallory = await im.login('tcp', 'mallory');
    const bob = await im.login('tcp', 'bob');
    mallory.send({ type: 2, from: 'alice', to: 'bob', dataContent: 'I am alice', fp: 'forged', QoS: true });
    const err = await mallory.expect({ type: 52, to: 'mallory' });
    expect(JSON.parse(err.dataContent as string).errorCode).toBe(403);
    mallory.send({ type: 2, from: 'alice', to: '0', dataContent: 'c2s as alice', fp: 'forged-2', QoS: true });
    await mallory.expect({ type: 52 });
    await bob.expectNothing(150);
    expect(im.app.get(RecordingHandlers).c2s).toEqual([]);
    mallory.keepalive();
    await mallory.expect({ type: 51 });
  });

  it.each(['tcp', 'ws'] as const)('paces a flooding %s session instead of dropping: every packet answered in order, others unaffected', async (kind) => {
    const flooder = await im.login(kind, 'flooder');
    const calm = await im.login(kind, 'calm');
    // 100 echoes against a budget of 20 + 50/s: the session stops being read and catches up as the budget refills.
    for (let i = 0; i < 100; i++) flooder.send({ type: 5, dataContent: `e${i}` });
    calm.keepalive();
    await calm.expect({ type: 51 });
    for (let i = 0; i < 100; i++) expect((await flooder.expect({ type: 53 }, 5000)).dataContent).toBe(`e${i}`);
    expect(flooder.inbox.filter((p) => p.type === 52)).toEqual([]);
    expect(im.core.stats.readPauses).toBeGreaterThanOrEqual(1);
    expect(im.core.stats.rateLimited).toBe(0);
  });

  it.each(['tcp', 'ws'] as const)('never spends the data budget on keepalives and ACKs over %s', async (kind) => {
    const busy = await im.login(kind, 'busy');
    for (let i = 0; i < 200; i++) busy.keepalive();
    for (let i = 0; i < 200; i++) await busy.expect({ type: 51 });
    expect(im.core.stats.readPauses).toBe(0);
    // The data budget is still whole: a burst of 20 echoes is answered without a pause.
    for (let i = 0; i < 20; i++) busy.send({ type: 5, dataContent: `e${i}` });
    for (let i = 0; i < 20; i++) await busy.expect({ type: 53 });
    expect(im.core.stats.readPauses).toBe(0);
  });

  it('drops a flooding UDP session\'s excess, counts it and tells the client once', async () => {
    const flooder = await im.login('udp', 'flooder');
    for (let i = 0; i < 200; i++) flooder.send({ type: 5, dataContent: `e${i}` });
    // Every echo is either answered or dropped; wait until all 200 are accounted for and the notice is in.
    await until(() => flooder.inbox.filter((p) => p.type === 53).length + im.core.stats.rateLimited >= 200 && flooder.inbox.some((p) => p.type === 52));
    const notices = flooder.inbox.filter((p) => p.type === 52);
    expect(flooder.inbox.filter((p) => p.type === 53).length).toBeLessThan(60);
    expect(notices).toHaveLength(1);
    expect(JSON.parse(notices[0].dataContent as string).errorCode).toBe(429);
    expect(im.core.stats.rateLimited).toBeGreaterThan(140);
  });

  it('limits connections per transport', async () => {
    await im.close();
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { tcp: { maxConnections: 2 } } });
    await im.connect('tcp');
    await im.connect('tcp');
    const third = await im.connect('tcp');
    await third.expectClosed();
  });
});
