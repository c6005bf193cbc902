import type { Socket } from 'net';
import { once } from 'events';
import { WebSocket } from 'ws';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('keepalive and idle timeout (PROTOCOL §5, §9)', () => {
  let im: IMTestingApp;
  let handlers: RecordingHandlers;

  beforeEach(async () => {
    im = await startIMTestingApp({
      providers: [RecordingHandlers],
      manualClock: true,
      // These tests pin the idle and 301 rules (PROTOCOL §5, §9); the hardening defaults that
      // pre-empt them for strangers (login deadline, UDP reply cap) are tested in hardening.e2e-spec.ts.
      im: { tcp: { senseMode: '5S' }, ws: { senseMode: '5S' }, udp: { maxReplyRatio: 8 }, limits: { loginTimeoutMs: 60_000 } },
    });
    handlers = im.app.get(RecordingHandlers);
  });
  afterEach(() => im.close());

  it('answers a keepalive with type 51 from "0" to the user, and never ACKs it even with QoS and fp', async () => {
    const a = await im.login('tcp', 'alice');
    a.send({ type: 1, to: '0', dataContent: '{}', QoS: true, fp: 'ka-1' });
    await a.expect({ type: 51, from: '0', to: 'alice', dataContent: '{}', QoS: false, fp: undefined });
    await a.expectNothing(100);
  });

  it('closes TCP and WebSocket sessions idle for 11 s under sense mode 5S, logged in or not', async () => {
    const tcp = await im.login('tcp', 'alice');
    const ws = await im.connect('ws');
    await until(() => im.core.sessionCount === 2);
    // Idle timeouts fire inside advance(): right after it the server's own view is final.
    im.clock!.advance(10_500);
    expect(im.core.sessionCount).toBe(2);
    expect(im.core.stats.idleTimeouts).toBe(0);
    im.clock!.advance(1_000);
    await tcp.expectClosed();
    expect((await ws.expectClosed()).code).toBe(1000);
    expect(handlers.logouts).toEqual([{ userId: 'alice', kickCode: -1 }]);
  });

  it('every complete packet restarts the idle timer, whatever its type', async () => {
    const tcp = await im.connect('tcp');
    for (let i = 1; i <= 4; i++) {
      im.clock!.advance(8_000);
      tcp.send({ type: 99 });
      await until(() => im.core.stats.unknownType === i); // the server has read it
    }
    expect(im.core.stats.idleTimeouts).toBe(0);
    expect(tcp.isOpen).toBe(true);
  });

  it('answers WebSocket pings with pongs, but pings are not protocol activity', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${im.ports.ws}/websocket`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping();
    await pong;
    for (let i = 0; i < 3; i++) {
      im.clock!.advance(3_000);
      ws.ping();
      await once(ws, 'pong'); // the server has seen the ping before time moves on
    }
    im.clock!.advance(3_000); // 12 s after the connection opened, pings every 3 s
    expect(await closed).toBe(1000);
  });

  it('a partial TCP frame does not count as activity', async () => {
    const tcp = await im.connect('tcp');
    tcp.sendRaw(Buffer.from([0, 0, 0, 50, 0x7b]));
    const serverSockets = (im.server.listener('tcp') as unknown as { sockets: Set<Socket> }).sockets;
    await until(() => [...serverSockets].some((s) => s.bytesRead >= 5)); // the server has read the partial frame
    im.clock!.advance(11_500);
    await tcp.expectClosed();
  });

  it('forgets a UDP session idle for 10 s: the next keepalive gets 301, and login works again', async () => {
    const udp = await im.login('udp', 'alice');
    im.clock!.advance(10_500);
    expect(im.push.isOnline('alice')).toBe(false);
    udp.keepalive();
    const err = await udp.expect({ type: 52 });
    expect(JSON.parse(err.dataContent as string).errorCode).toBe(301);
    expect((await udp.login('alice')).code).toBe(0);
  });

  it('the superseded session of a same-device re-login gets no keepalive answer (QUIRK-1 fix)', async () => {
    const udpOld = await im.connect('udp');
    const { firstLoginTime } = await udpOld.login('alice');
    const fresh = await im.connect('udp');
    await fresh.login('alice', { firstLoginTime });
    udpOld.keepalive();
    const err = await udpOld.expect({ type: 52 });
    expect(JSON.parse(err.dataContent as string).errorCode).toBe(301);
    await fresh.expectNothing(100);
  });
});

describe('echo and logout (PROTOCOL §8, §9)', () => {
  let im: IMTestingApp;
  beforeEach(async () => (im = await startIMTestingApp({ providers: [RecordingHandlers], im: { udp: { maxReplyRatio: 8 } } })));
  afterEach(() => im.close());

  it('echo returns the normalised packet as type 53 on the same connection, even before login', async () => {
    const a = await im.connect('tcp');
    a.sendText('{"type":5,"dataContent":"x","from":"someone","to":"nobody","fp":"f-1","QoS":true,"typeu":3,"sm":77,"bridge":true,"unknown":1}');
    await a.expect({ type: 53 });
    expect(a.rawLog[0]).toBe('{"bridge":true,"type":53,"dataContent":"x","from":"someone","to":"nobody","fp":"f-1","QoS":true,"typeu":3,"sm":77}');
  });

  it('echo replies are never retransmitted (QUIRK-10 fix)', async () => {
    const a = await im.connect('tcp');
    a.send({ type: 5, dataContent: 'x', fp: 'echo-fp', QoS: true });
    await a.expect({ type: 53 });
    expect(im.core.pendingQoS).toBe(0);
  });

  it('echo can be made to require login', async () => {
    await im.close();
    im = await startIMTestingApp({ providers: [RecordingHandlers], im: { echoRequiresLogin: true } });
    const a = await im.connect('tcp');
    a.send({ type: 5, dataContent: 'x' });
    const err = await a.expect({ type: 52 });
    expect(JSON.parse(err.dataContent as string).errorCode).toBe(301);
  });

  it.each(['tcp', 'ws'] as const)('logout over %s closes without a reply and takes the user offline', async (kind) => {
    const a = await im.login(kind, 'alice');
    a.logout();
    await a.expectClosed();
    expect(a.rawLog).toHaveLength(1);
    expect(im.push.isOnline('alice')).toBe(false);
    expect(im.app.get(RecordingHandlers).logouts).toEqual([{ userId: 'alice', kickCode: -1 }]);
  });

  it('logout over UDP forgets the session: a keepalive then gets 301', async () => {
    const u = await im.login('udp', 'alice');
    u.logout();
    await u.expectNothing(100);
    expect(im.push.isOnline('alice')).toBe(false);
    u.keepalive();
    expect(JSON.parse((await u.expect({ type: 52 })).dataContent as string).errorCode).toBe(301);
  });
});
