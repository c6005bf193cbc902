import * as dgram from 'dgram';
import * as net from 'net';
import { WebSocketServer, WebSocket as WsSocket } from 'ws';
import {
  CloseInfo,
  IMClient,
  IMClientOptions,
  IMLink,
  KickoutInfo,
  LinkLostInfo,
  Packet,
  ServerErrorInfo,
  TcpLink,
  UdpLink,
  WsLink,
} from '../../lib/client';
import { decodePacket, encodePacket } from '../../lib/protocol/packet-codec';
import { ackPacket, errorResponse, keepaliveResponse, kickoutPacket, loginResponse } from '../../lib/protocol/payloads';
import { serverPacket } from '../../lib/protocol/packet';
import { encodeTcpFrame, TcpFrameDecoder } from '../../lib/protocol/tcp-frame-decoder';
import { until } from '../../lib/testing';

type Kind = 'tcp' | 'udp' | 'ws';

interface Session {
  kind: Kind;
  userId?: string;
  send(text: string): void;
  close(): void;
}

interface Received {
  session: Session;
  packet: Packet;
  text: string;
}

/**
 * A tiny in-test MobileIMSDK server on 127.0.0.1: TCP (length framing), WS
 * (/websocket) and UDP. It answers login (type 0 → 50, firstLoginTime 123 on a
 * first login, else echoed), keepalive (1 → 51), echo (5 → 53), ACKs C2S QoS
 * from "0" and routes C2C to the recipient's session, ACKing on its behalf.
 */
class FakeServer {
  readonly received: Received[] = [];
  readonly sessions = new Map<string, Session>();
  /** Answer keepalives. */
  answerKeepalive = true;
  /** ACK C2S QoS packets. */
  ackC2S = true;
  ports = { tcp: 0, udp: 0, ws: 0 };
  private tcp!: net.Server;
  private udp!: dgram.Socket;
  private wss!: WebSocketServer;
  private readonly sockets = new Set<net.Socket>();
  private readonly udpSessions = new Map<string, Session>();
  private waiters: Array<{ pred: (r: Received) => boolean; resolve: (r: Received) => void }> = [];

  async start(): Promise<void> {
    this.tcp = net.createServer((socket) => this.acceptTcp(socket));
    await new Promise<void>((r) => this.tcp.listen(0, '127.0.0.1', r));
    this.ports.tcp = (this.tcp.address() as net.AddressInfo).port;

    this.udp = dgram.createSocket('udp4');
    this.udp.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let session = this.udpSessions.get(key);
      if (!session) {
        session = {
          kind: 'udp',
          send: (text) => this.udp.send(text, rinfo.port, rinfo.address),
          close: () => this.udpSessions.delete(key),
        };
        this.udpSessions.set(key, session);
      }
      this.handle(session, msg.toString('utf8'));
    });
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', r));
    this.ports.udp = this.udp.address().port;

    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/websocket' });
    await new Promise<void>((r) => this.wss.once('listening', r));
    this.ports.ws = (this.wss.address() as net.AddressInfo).port;
    this.wss.on('connection', (ws: WsSocket) => {
      const session: Session = { kind: 'ws', send: (text) => ws.send(text), close: () => ws.close(1000, 'Bye') };
      ws.on('message', (data, isBinary) => !isBinary && this.handle(session, data.toString()));
      ws.on('close', () => this.forget(session));
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const c of this.wss.clients) c.terminate();
    await Promise.all([
      new Promise((r) => this.tcp.close(r)),
      new Promise((r) => this.wss.close(r)),
      new Promise<void>((r) => this.udp.close(() => r())),
    ]);
  }

  /** Resolves with the next received packet (already received ones included) matching `pred`. */
  waitFor(pred: (r: Received) => boolean, timeoutMs = 2000): Promise<Received> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('fake server: no matching packet'));
      }, timeoutMs);
      const waiter = {
        pred,
        resolve: (r: Received) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Every received packet matching `pred`. */
  all(pred: (r: Received) => boolean): Received[] {
    return this.received.filter(pred);
  }

  /** Sends a packet to the logged-in user. */
  sendTo(userId: string, packet: Packet): void {
    const s = this.sessions.get(userId);
    if (!s) throw new Error(`fake server: ${userId} not online`);
    s.send(encodePacket(packet));
  }

  private acceptTcp(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const session: Session = {
      kind: 'tcp',
      send: (text) => socket.write(encodeTcpFrame(text)),
      close: () => socket.end(),
    };
    const decoder = new TcpFrameDecoder(6144);
    socket.on('data', (chunk) => decoder.push(chunk, (body) => this.handle(session, body.toString('utf8'))));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.forget(session);
    });
  }

  private forget(session: Session): void {
    if (session.userId && this.sessions.get(session.userId) === session) this.sessions.delete(session.userId);
  }

  private handle(session: Session, text: string): void {
    const r = decodePacket(text);
    if (!r.ok) return;
    const p = r.packet;
    const rec = { session, packet: p, text };
    this.received.push(rec);
    for (const w of this.waiters.filter((w) => w.pred(rec))) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(rec);
    }
    const reply = (q: Packet): void => session.send(encodePacket(q));
    switch (p.type) {
      case 0: {
        const info = JSON.parse(p.dataContent as string) as { loginUserId: string; loginToken?: string; firstLoginTime: number };
        if (info.loginToken === 'bad') {
          // Marked QoS to show the client does not ACK a failed login response.
          reply({ ...loginResponse(1025, info.loginUserId, -1), QoS: true, fp: 'fp-failed-login' });
          session.close();
          return;
        }
        session.userId = info.loginUserId;
        this.sessions.set(info.loginUserId, session);
        reply(loginResponse(0, info.loginUserId, info.firstLoginTime > 0 ? info.firstLoginTime : 123));
        return;
      }
      case 1:
        if (this.answerKeepalive) reply(keepaliveResponse(session.userId ?? '-1'));
        return;
      case 2:
        if (p.to === '0') {
          if (p.QoS && this.ackC2S) reply(ackPacket(p.fp as string, '0', p.from));
        } else {
          const target = this.sessions.get(p.to as string);
          if (!target) return;
          target.send(encodePacket(p));
          if (p.QoS) reply(ackPacket(p.fp as string, p.to as string, p.from));
        }
        return;
      case 3:
        this.forget(session);
        session.close();
        return;
      case 5:
        reply({ ...p, type: 53 });
        return;
    }
  }
}

const server = new FakeServer();
const clients: IMClient[] = [];

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.received.length = 0;
  server.answerKeepalive = true;
  server.ackC2S = true;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function linkFor(kind: Kind): IMLink {
  const host = '127.0.0.1';
  if (kind === 'tcp') return new TcpLink({ host, port: server.ports.tcp });
  if (kind === 'udp') return new UdpLink({ host, port: server.ports.udp });
  return new WsLink({ host, port: server.ports.ws });
}

/** Fast timings: QoS check 40 ms / grace 20 ms; keepalive off unless a test turns it on. */
function makeClient(kind: Kind, options: IMClientOptions = {}): IMClient {
  const client = new IMClient(() => linkFor(kind), {
    keepalive: false,
    qos: { checkIntervalMs: 40, graceMs: 20, maxResends: 2 },
    requestTimeoutMs: 2000,
    ...options,
  });
  clients.push(client);
  return client;
}

async function loggedIn(kind: Kind, userId: string, options?: IMClientOptions): Promise<IMClient> {
  const client = makeClient(kind, options);
  await client.connect();
  const res = await client.login({ userId, token: 't' });
  expect(res.code).toBe(0);
  return client;
}

function nextEvent<T>(client: IMClient, event: 'close' | 'kicked' | 'error' | 'linkLost' | 'message', timeoutMs = 2000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), timeoutMs);
    client.once(event, ((arg: T) => {
      clearTimeout(timer);
      resolve(arg);
    }) as never);
  });
}

describe.each<Kind>(['tcp', 'ws', 'udp'])('IMClient over %s', (kind) => {
  it('logs in, saves firstLoginTime and sends it on the next login', async () => {
    const client = makeClient(kind);
    await client.connect();
    expect(client.isConnected).toBe(true);
    await expect(client.login({ userId: `u-${kind}`, token: 'secret', extra: 'x' })).resolves.toEqual({ code: 0, firstLoginTime: 123 });
    expect(client.isLoggedIn).toBe(true);
    expect(client.userId).toBe(`u-${kind}`);
    expect(client.firstLoginTime).toBe(123);

    const first = await server.waitFor((r) => r.packet.type === 0);
    expect(first.text).toBe(
      `{"bridge":false,"type":0,"dataContent":"{\\"loginUserId\\":\\"u-${kind}\\",\\"loginToken\\":\\"secret\\",\\"extra\\":\\"x\\",\\"firstLoginTime\\":0,\\"notifyUndeliverable\\":true}",` +
        `"from":"u-${kind}","to":"0","QoS":false,"typeu":-1,"sm":-1}`,
    );

    // A reconnect (not a logout) keeps the saved value, as the SDKs' re-login does.
    await client.close();
    expect(client.isConnected).toBe(false);
    await client.connect();
    await client.login({ userId: `u-${kind}`, token: 'secret' });
    const logins = server.all((r) => r.packet.type === 0);
    expect(JSON.parse(logins[1].packet.dataContent as string)).toEqual({ loginUserId: `u-${kind}`, loginToken: 'secret', firstLoginTime: 123, notifyUndeliverable: true });
  });

  it('answers echo with the type-53 reply, in order', async () => {
    const client = await loggedIn(kind, `e-${kind}`);
    const [a, b] = await Promise.all([client.echo('one'), client.echo('two ✓ 😀')]);
    expect([a.type, a.dataContent]).toEqual([53, 'one']);
    expect([b.type, b.dataContent]).toEqual([53, 'two ✓ 😀']);
  });

  it('resolves a QoS C2S send as delivered on the ACK', async () => {
    const client = await loggedIn(kind, `q-${kind}`);
    await expect(client.sendC2S('hello', { typeu: 7 })).resolves.toBe('delivered');
    const sent = server.all((r) => r.packet.type === 2);
    expect(sent).toHaveLength(1);
    expect(sent[0].packet).toMatchObject({ dataContent: 'hello', from: `q-${kind}`, to: '0', QoS: true, typeu: 7, sm: -1 });
    expect(sent[0].packet.fp).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.pendingQoS).toBe(0);
  });

  it('resends unchanged twice, then reports lost when never ACKed', async () => {
    server.ackC2S = false;
    const client = await loggedIn(kind, `l-${kind}`);
    const started = Date.now();
    await expect(client.sendC2S('nobody acks', { fp: 'fp-lost-' + kind })).resolves.toBe('lost');
    expect(Date.now() - started).toBeLessThan(1000);
    const copies = server.all((r) => r.packet.type === 2);
    expect(copies).toHaveLength(3);
    expect(new Set(copies.map((c) => c.text)).size).toBe(1);
    expect(copies[0].packet.fp).toBe('fp-lost-' + kind);
  });

  it('ACKs incoming QoS packets, duplicates too, and delivers them once', async () => {
    const userId = `r-${kind}`;
    const client = await loggedIn(kind, userId);
    const messages: Packet[] = [];
    client.on('message', (p) => messages.push(p));
    const msg = serverPacket(2, userId, 'pushed', { fp: 'fp-dup', QoS: true, bridge: true, typeu: 9 });
    server.sendTo(userId, msg);
    server.sendTo(userId, msg);
    // A non-QoS marker behind them shows the client has handled both copies.
    server.sendTo(userId, serverPacket(2, userId, 'plain'));
    await client.nextPacket((p) => p.dataContent === 'plain');
    await until(() => server.all((r) => r.packet.type === 4).length >= 2);
    const acks = server.all((r) => r.packet.type === 4);
    expect(acks).toHaveLength(2);
    expect(acks[0].text).toBe(`{"bridge":true,"type":4,"dataContent":"fp-dup","from":"${userId}","to":"0","QoS":false,"typeu":-1,"sm":-1}`);
    expect(acks[1].text).toBe(acks[0].text);
    expect(messages.map((m) => m.dataContent)).toEqual(['pushed', 'plain']);
    // The FIFO shows the wire, duplicate included.
    const queued = client.drainPackets().filter((p) => p.type === 2);
    expect(queued.map((p) => p.dataContent)).toEqual(['pushed', 'pushed']);
  });

  it('sends keepalives and declares the link lost when they go unanswered', async () => {
    // The timeout is generous so that a busy machine's stalls are not taken for a dead link.
    const keepalive = { intervalMs: 30, timeoutMs: 1500, checkIntervalMs: 20 };
    const client = await loggedIn(kind, `k-${kind}`, { keepalive });
    await until(() => server.all((r) => r.packet.type === 1 && r.packet.from === `k-${kind}`).length >= 3);
    expect(client.isConnected).toBe(true);
    const ka = server.all((r) => r.packet.type === 1)[0];
    expect(ka.text).toBe(`{"bridge":false,"type":1,"dataContent":"{}","from":"k-${kind}","to":"0","QoS":false,"typeu":-1,"sm":-1}`);

    server.answerKeepalive = false;
    const lost = nextEvent<LinkLostInfo>(client, 'linkLost', 10_000);
    const closed = nextEvent<CloseInfo>(client, 'close', 10_000);
    await expect(lost).resolves.toEqual({ reason: 'keepalive-timeout' });
    await expect(closed).resolves.toEqual({ reason: 'keepalive-timeout' });
    expect(client.isConnected).toBe(false);
  });

  it('reports a kick-out, clears firstLoginTime and closes', async () => {
    const userId = `kick-${kind}`;
    const client = await loggedIn(kind, userId);
    const kicked = nextEvent<KickoutInfo>(client, 'kicked');
    const closed = nextEvent<CloseInfo>(client, 'close');
    server.sendTo(userId, kickoutPacket(userId, 2, 'admin'));
    await expect(kicked).resolves.toEqual({ code: 2, reason: 'admin' });
    await expect(closed).resolves.toEqual({ reason: 'kicked' });
    expect(client.firstLoginTime).toBe(0);
  });

  it('reports a 301 error and stops being logged in', async () => {
    const userId = `err-${kind}`;
    const client = await loggedIn(kind, userId, { keepalive: { intervalMs: 1000, timeoutMs: 5000 } });
    const error = nextEvent<ServerErrorInfo>(client, 'error');
    server.sendTo(userId, errorResponse(301, 'not logged in'));
    const info = await error;
    expect([info.errorCode, info.errorMsg]).toEqual([301, 'not logged in']);
    expect(client.isLoggedIn).toBe(false);
    await expect(client.sendC2S('x')).rejects.toThrow('not logged in');
  });

  it('returns a failed login code and closes, without ACKing', async () => {
    const client = makeClient(kind);
    await client.connect();
    const closed = nextEvent<CloseInfo>(client, 'close');
    await expect(client.login({ userId: 'nope', token: 'bad' })).resolves.toEqual({ code: 1025, firstLoginTime: -1 });
    await expect(closed).resolves.toEqual({ reason: 'login-failed' });
    expect(client.isLoggedIn).toBe(false);
    expect(client.firstLoginTime).toBe(0);
    expect(server.all((r) => r.packet.type === 4)).toHaveLength(0);
  });

  it('logs out with a type-3 packet, clears firstLoginTime and closes', async () => {
    const userId = `out-${kind}`;
    const client = await loggedIn(kind, userId);
    const closed = nextEvent<CloseInfo>(client, 'close');
    await client.logout();
    await expect(closed).resolves.toEqual({ reason: 'logout' });
    const out = await server.waitFor((r) => r.packet.type === 3);
    expect(out.text).toBe(`{"bridge":false,"type":3,"from":"${userId}","to":"0","QoS":false,"typeu":-1,"sm":-1}`);
    expect(client.firstLoginTime).toBe(0);
  });
});

describe('IMClient across transports and on the wire', () => {
  it('delivers C2C between TCP, WS and UDP clients with QoS', async () => {
    const a = await loggedIn('tcp', 'alice');
    const b = await loggedIn('ws', 'bob');
    const c = await loggedIn('udp', 'carol');
    const toBob = nextEvent<Packet>(b, 'message');
    await expect(a.sendC2C('bob', 'hi bob', { typeu: 1 })).resolves.toBe('delivered');
    expect(await toBob).toMatchObject({ type: 2, from: 'alice', to: 'bob', dataContent: 'hi bob', QoS: true, typeu: 1 });
    const toCarol = nextEvent<Packet>(c, 'message');
    await expect(b.sendC2C('carol', 'hi carol')).resolves.toBe('delivered');
    expect((await toCarol).dataContent).toBe('hi carol');
    // Bob's and Carol's SDK-style ACKs reached the server.
    await server.waitFor((r) => r.packet.type === 4 && r.packet.from === 'carol' && r.packet.to === 'bob');
    await expect(c.sendC2C('alice', 'no qos', { qos: false })).resolves.toBe('sent');
    const plain = await a.nextPacket((p) => p.type === 2);
    expect(plain.fp).toBeUndefined();
    expect(plain.QoS).toBe(false);
  });

  it('sends raw packets and exposes received ones through nextPacket', async () => {
    const client = makeClient('tcp');
    await client.connect();
    const sent = client.sendPacket({ type: 5, dataContent: 'raw', from: 'x', to: '0' });
    expect(encodePacket(sent)).toBe('{"bridge":false,"type":5,"dataContent":"raw","from":"x","to":"0","QoS":false,"typeu":-1,"sm":-1}');
    const reply = await client.nextPacket((p) => p.type === 53, 1000);
    expect(reply.dataContent).toBe('raw');
    await expect(client.nextPacket(() => true, 50)).rejects.toThrow('no matching packet');
    // A pending nextPacket fails as soon as the link closes.
    const waiting = client.nextPacket(() => false, 5000);
    await client.close();
    await expect(waiting).rejects.toThrow('connection closed');
  });

  it('reports the server closing the link as linkLost', async () => {
    const client = await loggedIn('tcp', 'dropped');
    const lost = nextEvent<LinkLostInfo>(client, 'linkLost');
    const closed = nextEvent<CloseInfo>(client, 'close');
    client.sendRaw('{"type":3,"from":"dropped","to":"0"}');
    expect(await lost).toMatchObject({ reason: 'remote' });
    expect(await closed).toMatchObject({ reason: 'remote' });
  });

  it('gives the fp of a refused message with the error that refuses it', async () => {
    const client = await loggedIn('ws', 'refused');
    const error = nextEvent<ServerErrorInfo>(client, 'error');
    server.sendTo('refused', { ...errorResponse(403, 'blocked', 'refused'), fp: 'f-1' });
    expect(await error).toMatchObject({ errorCode: 403, errorMsg: 'blocked', fp: 'f-1' });
    const plain = nextEvent<ServerErrorInfo>(client, 'error');
    server.sendTo('refused', errorResponse(429, 'slow down', 'refused'));
    expect((await plain).fp).toBeUndefined();
  });

  it('reports pending QoS sends lost on close()', async () => {
    server.ackC2S = false;
    const client = makeClient('udp', { qos: { checkIntervalMs: 10_000, graceMs: 3000, maxResends: 2 } });
    await client.connect();
    await client.login({ userId: 'closer' });
    const pending = client.sendC2S('never');
    await server.waitFor((r) => r.packet.type === 2);
    expect(client.pendingQoS).toBe(1);
    await client.close();
    await expect(pending).resolves.toBe('lost');
  });

  it('rejects connect() when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const client = new IMClient(new TcpLink({ host: '127.0.0.1', port, connectTimeoutMs: 1000 }), { keepalive: false });
    await expect(client.connect()).rejects.toThrow();
    expect(client.isConnected).toBe(false);
  });
});
