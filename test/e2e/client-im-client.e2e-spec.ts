/**
 * `nestjs-im/client` against the real server (issue 10 item 1): login, echo,
 * QoS sends and their outcomes, ACK and dedup of received packets, keepalive,
 * kick, logout, link loss and re-login, on TCP, WebSocket and UDP. The server
 * is the library itself, started by the testing kit; what the server saw is
 * read from the application's handlers or from a wire-level `IMTestClient`.
 * The exact bytes of each client packet are unit-tested in payloads.spec.ts.
 */
import { Injectable } from '@nestjs/common';
import * as net from 'net';
import { BeforeC2S, LoginInfo, OnLogin, OnLogout, Packet } from '../../lib';
import {
  CloseInfo,
  IMClient,
  IMClientOptions,
  IMLink,
  KickoutInfo,
  LinkLostInfo,
  ServerErrorInfo,
  TcpLink,
  TransportKind,
  UdpLink,
  WsLink,
} from '../../lib/client';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';

/** Records what the application saw; "bad" tokens are refused, C2S text "drop" is dropped silently (no ACK). */
@Injectable()
class Handlers {
  readonly logins: LoginInfo[] = [];
  readonly logouts: string[] = [];
  /** Every C2S copy that reached the server, before its ACK and dedup. */
  readonly c2s: Packet[] = [];

  @OnLogin()
  login(info: LoginInfo): number {
    this.logins.push(info);
    return info.loginToken === 'bad' ? 1025 : 0;
  }

  @OnLogout()
  logout(userId: string): void {
    this.logouts.push(userId);
  }

  @BeforeC2S()
  beforeC2S(p: Packet): boolean {
    this.c2s.push(p);
    return p.dataContent !== 'drop';
  }

  reset(): void {
    this.logins.length = 0;
    this.logouts.length = 0;
    this.c2s.length = 0;
  }
}

const HOST = '127.0.0.1';
const start = () => startIMTestingApp({ providers: [Handlers] });

function linkFor(im: IMTestingApp, kind: TransportKind): IMLink {
  const port = im.ports[kind] as number;
  if (kind === 'tcp') return new TcpLink({ host: HOST, port });
  if (kind === 'udp') return new UdpLink({ host: HOST, port, localAddress: HOST });
  return new WsLink({ host: HOST, port });
}

function nextEvent<T>(client: IMClient, event: 'close' | 'kicked' | 'error' | 'linkLost' | 'message', timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    client.once(event, ((arg: T) => {
      clearTimeout(timer);
      resolve(arg);
    }) as never);
  });
}

describe('nestjs-im/client against the real server', () => {
  let im: IMTestingApp;
  let handlers: Handlers;
  const clients: IMClient[] = [];

  beforeAll(async () => {
    im = await start();
    handlers = im.moduleRef.get(Handlers);
  });
  afterAll(() => im.close());
  beforeEach(() => handlers.reset());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  /** QoS checks every 40 ms with a 20 ms grace (lost after ~0.1 s); keepalive off unless a test turns it on. */
  function makeClient(kind: TransportKind, options: IMClientOptions = {}): IMClient {
    const client = new IMClient(() => linkFor(im, kind), {
      keepalive: false,
      qos: { checkIntervalMs: 40, graceMs: 20, maxResends: 2 },
      requestTimeoutMs: 5000,
      ...options,
    });
    clients.push(client);
    return client;
  }

  async function loggedIn(kind: TransportKind, userId: string, options?: IMClientOptions): Promise<IMClient> {
    const client = makeClient(kind, options);
    await client.connect();
    expect((await client.login({ userId, token: 't' })).code).toBe(0);
    return client;
  }

  /** A grace longer than any ACK delay on a busy machine: a send is never resent. */
  const noResend: IMClientOptions = { qos: { checkIntervalMs: 40, graceMs: 60_000, maxResends: 2 } };

  describe.each<TransportKind>(['tcp', 'ws', 'udp'])('over %s', (kind) => {
    it('logs in, keeps the firstLoginTime the server gave, and sends it again on the next login', async () => {
      const userId = `u-${kind}`;
      const client = makeClient(kind);
      await client.connect();
      expect(client.isConnected).toBe(true);
      const first = await client.login({ userId, token: 'secret', extra: 'x' });
      expect(first.code).toBe(0);
      expect(first.firstLoginTime).toBeGreaterThan(0);
      expect([client.isLoggedIn, client.userId, client.firstLoginTime]).toEqual([true, userId, first.firstLoginTime]);
      expect(handlers.logins[0]).toEqual({ loginUserId: userId, loginToken: 'secret', extra: 'x', firstLoginTime: 0, notifyUndeliverable: true });

      // A reconnect (not a logout) is the same device: the saved value goes out and comes back.
      await client.close();
      expect(client.isConnected).toBe(false);
      await client.connect();
      const again = await client.login({ userId, token: 'secret' });
      expect(again).toEqual({ code: 0, firstLoginTime: first.firstLoginTime });
      expect(handlers.logins[1].firstLoginTime).toBe(first.firstLoginTime);
    });

    it('returns a refused login code and closes', async () => {
      const client = makeClient(kind);
      await client.connect();
      const closed = nextEvent<CloseInfo>(client, 'close');
      await expect(client.login({ userId: 'nope', token: 'bad' })).resolves.toEqual({ code: 1025, firstLoginTime: -1 });
      await expect(closed).resolves.toEqual({ reason: 'login-failed' });
      expect([client.isLoggedIn, client.firstLoginTime]).toEqual([false, 0]);
    });

    it('matches echo replies to requests in order', async () => {
      const client = await loggedIn(kind, `e-${kind}`);
      const [a, b] = await Promise.all([client.echo('one'), client.echo('two ✓ 😀')]);
      expect([a.type, a.dataContent]).toEqual([53, 'one']);
      expect([b.type, b.dataContent]).toEqual([53, 'two ✓ 😀']);
    });

    it("settles a QoS C2S 'delivered' on the server's ACK, sent once", async () => {
      const client = await loggedIn(kind, `q-${kind}`, noResend);
      await expect(client.sendC2S('hello', { typeu: 7 })).resolves.toBe('delivered');
      expect(handlers.c2s).toHaveLength(1);
      expect(handlers.c2s[0]).toMatchObject({ dataContent: 'hello', from: `q-${kind}`, to: '0', QoS: true, typeu: 7, sm: -1 });
      expect(handlers.c2s[0].fp).toMatch(/^[0-9a-f-]{36}$/);
      expect(client.pendingQoS).toBe(0);
    });

    it("resends a QoS C2S the server never ACKs twice, unchanged, then settles 'lost'", async () => {
      const client = await loggedIn(kind, `l-${kind}`);
      await expect(client.sendC2S('drop', { fp: `fp-lost-${kind}` })).resolves.toBe('lost');
      await until(() => handlers.c2s.length >= 3, { message: 'three copies at the server' });
      expect(handlers.c2s.map((p) => [p.fp, p.dataContent])).toEqual(Array(3).fill([`fp-lost-${kind}`, 'drop']));
      expect(client.pendingQoS).toBe(0);
    });

    it('ACKs a QoS push, so the server settles it delivered; a copy with the same fp is ACKed and dropped', async () => {
      const userId = `r-${kind}`;
      const client = await loggedIn(kind, userId);
      const messages: Packet[] = [];
      client.on('message', (p) => messages.push(p));
      await expect(im.push.send(userId, 'pushed')).resolves.toMatchObject({ status: 'delivered' });
      expect(messages.map((m) => [m.from, m.dataContent, m.QoS])).toEqual([['0', 'pushed', true]]);

      // A sender that reuses an fp (an SDK's resend whose ACK was lost): ACKed both times, shown once.
      const sender = await im.login('tcp', `s-${kind}`, { token: 't' });
      const fp = sender.c2c(userId, 'twice', { fp: `dup-${kind}` });
      sender.c2c(userId, 'twice', { fp });
      sender.c2c(userId, 'marker', { qos: false });
      await client.nextPacket((p) => p.dataContent === 'marker');
      const acks = [await sender.expect({ type: 4 }), await sender.expect({ type: 4 })];
      expect(acks.map((a) => a.dataContent)).toEqual([fp, fp]);
      expect(messages.map((m) => m.dataContent)).toEqual(['pushed', 'twice', 'marker']);
      // The FIFO shows the wire, duplicate included (the marker was taken by nextPacket).
      expect(client.drainPackets().filter((p) => p.type === 2).map((p) => p.dataContent)).toEqual(['pushed', 'twice', 'twice']);
    });

    it('sends keepalives that the server answers, and stays connected', async () => {
      const answers: Packet[] = [];
      const client = await loggedIn(kind, `k-${kind}`, { keepalive: { intervalMs: 30, timeoutMs: 5000, checkIntervalMs: 20 } });
      client.on('packet', (p) => p.type === 51 && answers.push(p));
      await until(() => answers.length >= 3, { message: 'three keepalive responses' });
      expect(answers[0]).toMatchObject({ from: '0', to: `k-${kind}` });
      expect(client.isConnected).toBe(true);
    });

    it('reports a kick-out by the application, clears firstLoginTime and closes', async () => {
      const userId = `kick-${kind}`;
      const client = await loggedIn(kind, userId);
      const kicked = nextEvent<KickoutInfo>(client, 'kicked');
      const closed = nextEvent<CloseInfo>(client, 'close');
      expect(await im.push.kick(userId, 'admin')).toBe(true);
      await expect(kicked).resolves.toEqual({ code: 2, reason: 'admin' });
      await expect(closed).resolves.toEqual({ reason: 'kicked' });
      expect(client.firstLoginTime).toBe(0);
    });

    // TCP and WebSocket only: the 301 quotes the packet, and a UDP stranger never gets a reply larger than its datagram.
    const streamOnly = kind === 'udp' ? () => undefined : it;
    streamOnly('reports error 301 for data sent before login', async () => {
      const client = makeClient(kind);
      await client.connect();
      const error = nextEvent<ServerErrorInfo>(client, 'error');
      client.sendPacket({ type: 2, from: 'early', to: '0', dataContent: 'x' });
      expect(await error).toMatchObject({ errorCode: 301 });
      expect(client.isLoggedIn).toBe(false);
      await expect(client.sendC2S('x')).rejects.toThrow('not logged in');
    });

    it('logs out with a type-3 packet: the server ends the session, firstLoginTime is cleared', async () => {
      const userId = `out-${kind}`;
      const client = await loggedIn(kind, userId);
      const closed = nextEvent<CloseInfo>(client, 'close');
      await client.logout();
      await expect(closed).resolves.toEqual({ reason: 'logout' });
      await until(() => handlers.logouts.includes(userId), { message: `${userId} logged out at the server` });
      expect(client.firstLoginTime).toBe(0);
    });

    it("reports pending QoS sends 'lost' on close()", async () => {
      const client = await loggedIn(kind, `c-${kind}`, noResend);
      const pending = client.sendC2S('drop');
      await until(() => handlers.c2s.length === 1, { message: 'the C2S at the server' });
      expect(client.pendingQoS).toBe(1);
      await client.close();
      await expect(pending).resolves.toBe('lost');
    });
  });

  it('delivers C2C with QoS between TCP, WebSocket and UDP clients', async () => {
    const a = await loggedIn('tcp', 'alice');
    const b = await loggedIn('ws', 'bob');
    const c = await loggedIn('udp', 'carol');
    const toBob = nextEvent<Packet>(b, 'message');
    await expect(a.sendC2C('bob', 'hi bob', { typeu: 1 })).resolves.toBe('delivered');
    expect(await toBob).toMatchObject({ type: 2, from: 'alice', to: 'bob', dataContent: 'hi bob', QoS: true, typeu: 1 });
    const toCarol = nextEvent<Packet>(c, 'message');
    await expect(b.sendC2C('carol', 'hi carol')).resolves.toBe('delivered');
    expect((await toCarol).dataContent).toBe('hi carol');
    const toAlice = nextEvent<Packet>(a, 'message');
    await expect(c.sendC2C('alice', 'no qos', { qos: false })).resolves.toBe('sent');
    expect(await toAlice).toMatchObject({ dataContent: 'no qos', fp: undefined, QoS: false });
  });

  it('sends packets as given and exposes received ones through nextPacket', async () => {
    const client = makeClient('tcp');
    await client.connect();
    client.sendPacket({ type: 5, dataContent: 'raw', from: 'x', to: '0' });
    expect((await client.nextPacket((p) => p.type === 53)).dataContent).toBe('raw');
    await expect(client.nextPacket(() => true, 50)).rejects.toThrow('no matching packet');
    // A pending nextPacket fails as soon as the link closes.
    const waiting = client.nextPacket(() => false, 5000);
    await client.close();
    await expect(waiting).rejects.toThrow('connection closed');
  });

  it('rejects connect() when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, HOST, r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const client = new IMClient(new TcpLink({ host: HOST, port, connectTimeoutMs: 1000 }), { keepalive: false });
    await expect(client.connect()).rejects.toThrow();
    expect(client.isConnected).toBe(false);
  });
});

describe('nestjs-im/client when the server goes away', () => {
  it.each<TransportKind>(['tcp', 'ws'])('reports the server closing a %s link as linkLost "remote"', async (kind) => {
    const im = await start();
    const client = new IMClient(linkFor(im, kind), { keepalive: false });
    let appClosed: Promise<void> | undefined;
    try {
      await client.connect();
      await client.login({ userId: 'dropped', token: 't' });
      const lost = nextEvent<LinkLostInfo>(client, 'linkLost');
      const closed = nextEvent<CloseInfo>(client, 'close');
      appClosed = im.close();
      expect(await lost).toMatchObject({ reason: 'remote' });
      expect(await closed).toMatchObject({ reason: 'remote' });
    } finally {
      await client.close();
      await (appClosed ?? im.close());
    }
  });

  it('finds a UDP server gone by its unanswered keepalives', async () => {
    const im = await start();
    // A timeout long enough that a busy machine's stalls are not taken for a dead server.
    const client = new IMClient(linkFor(im, 'udp'), { keepalive: { intervalMs: 30, timeoutMs: 1500, checkIntervalMs: 20 } });
    let appClosed: Promise<void> | undefined;
    try {
      await client.connect();
      await client.login({ userId: 'silent', token: 't' });
      const lost = nextEvent<LinkLostInfo>(client, 'linkLost', 15_000);
      const closed = nextEvent<CloseInfo>(client, 'close', 15_000);
      await (appClosed = im.close());
      await expect(lost).resolves.toEqual({ reason: 'keepalive-timeout' });
      await expect(closed).resolves.toEqual({ reason: 'keepalive-timeout' });
      expect(client.isConnected).toBe(false);
    } finally {
      await client.close();
      await (appClosed ?? im.close());
    }
  });
});
