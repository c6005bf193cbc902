import * as dgram from 'dgram';
import * as net from 'net';
import * as tls from 'tls';
import { WebSocket } from 'ws';
import { TransportKind } from '../protocol/transport-kind';
import { Packet } from '../protocol/packet';
import { PacketType } from '../protocol/packet-type';
import { encodeTcpFrame, TcpFrameDecoder } from '../protocol/tcp-frame-decoder';

/** A partial packet to match: every given field must be equal (`undefined` means absent). */
export type PacketMatcher = Partial<Record<keyof Packet, unknown>> | ((p: Packet) => boolean);

/** Options of {@link IMTestClient.connect}. */
export interface IMTestClientOptions {
  host?: string;
  /** WebSocket path (default `/websocket`). */
  path?: string;
  /** Local address to bind (UDP) or connect from (TCP). */
  localAddress?: string;
  /** Connect with TLS (TCP) or `wss:` (WebSocket), e.g. `{ ca }` for a self-signed server. */
  tls?: tls.ConnectionOptions;
}

interface Waiter {
  resolve: (p: Packet) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A wire-level MobileIMSDK client for tests: it sends exactly what it is told
 * and queues every packet it receives, so a test can assert the server's
 * behaviour packet by packet. Three lines make a scenario:
 * `const a = await app.connect('tcp'); await a.login('alice'); await a.expect({ type: 51 })`.
 */
export class IMTestClient {
  /** Packets received and not yet consumed, oldest first. */
  readonly inbox: Packet[] = [];
  /** Raw text of every received packet, in order. */
  readonly rawLog: string[] = [];
  /** The user id of the last successful login. */
  userId?: string;
  /** Resolves when the server closes (or the client closed); with the WebSocket close code. */
  readonly closed: Promise<{ code?: number }>;
  private waiter?: Waiter;
  private onClosed!: (info: { code?: number }) => void;
  private isClosed = false;
  private fpSeq = 0;

  private constructor(
    readonly transport: TransportKind,
    private readonly writeBody: (body: string | Buffer, raw?: boolean) => void,
    private readonly end: () => void,
  ) {
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
  }

  /** Opens a connection (or a UDP socket) to the server. */
  static async connect(transport: TransportKind, port: number, options: IMTestClientOptions = {}): Promise<IMTestClient> {
    const host = options.host ?? '127.0.0.1';
    if (transport === 'tcp') {
      const socket = options.tls
        ? tls.connect({ ...options.tls, port, host })
        : net.connect({ port, host, localAddress: options.localAddress });
      const connected = options.tls ? 'secureConnect' : 'connect';
      await new Promise<void>((resolve, reject) => socket.once(connected, resolve).once('error', reject));
      const client = new IMTestClient('tcp', (b, raw) => socket.write(raw ? b : encodeTcpFrame(b as string)), () => socket.destroy());
      const decoder = new TcpFrameDecoder(16 * 1024 * 1024);
      socket.on('data', (chunk) => decoder.push(chunk, (body) => client.deliver(body.toString('utf8'))));
      socket.on('error', () => undefined);
      socket.on('close', () => client.markClosed({}));
      return client;
    }
    if (transport === 'ws') {
      const scheme = options.tls ? 'wss' : 'ws';
      const ws = new WebSocket(`${scheme}://${host}:${port}${options.path ?? '/websocket'}`, { perMessageDeflate: false, ...options.tls });
      await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const client = new IMTestClient('ws', (b, raw) => ws.send(b, { binary: raw === true }), () => ws.terminate());
      ws.on('message', (data, isBinary) => !isBinary && client.deliver(data.toString()));
      ws.on('error', () => undefined);
      ws.on('close', (code) => client.markClosed({ code }));
      return client;
    }
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, options.localAddress ?? (host.includes(':') ? '::1' : '127.0.0.1'), resolve));
    const client = new IMTestClient('udp', (b) => socket.send(b, port, host), () => socket.close());
    socket.on('message', (msg) => client.deliver(msg.toString('utf8')));
    return client;
  }

  /** Sends a packet; missing fields get the Java SDK's values (typeu -1, sm -1). */
  send(fields: Partial<Packet> & { type: number }): void {
    const p: Packet = { bridge: false, QoS: false, typeu: -1, sm: -1, from: this.userId, ...fields };
    this.sendText(JSON.stringify(p));
  }

  /** Sends text verbatim as one frame/message/datagram. */
  sendText(text: string): void {
    this.writeBody(text);
  }

  /** Writes bytes with no framing (TCP), as a binary frame (WebSocket) or as a datagram (UDP). */
  sendRaw(bytes: Buffer): void {
    this.writeBody(bytes, true);
  }

  /** Logs in and waits for the login response; resolves with its code and firstLoginTime. */
  async login(
    userId: string,
    options: { token?: string; extra?: string; firstLoginTime?: number; timeoutMs?: number } = {},
  ): Promise<{ code: number; firstLoginTime: number }> {
    const info = { loginUserId: userId, loginToken: options.token ?? `token-${userId}`, extra: options.extra, firstLoginTime: options.firstLoginTime ?? 0 };
    this.send({ type: PacketType.LOGIN, from: userId, to: '0', dataContent: JSON.stringify(info) });
    const reply = await this.expect({ type: PacketType.LOGIN_RESPONSE }, options.timeoutMs);
    const body = JSON.parse(reply.dataContent as string) as { code: number; firstLoginTime: number };
    if (body.code === 0) this.userId = userId;
    return body;
  }

  /** Sends a C2C message; returns its fingerprint. */
  c2c(to: string, data: string, options: { qos?: boolean; fp?: string; typeu?: number } = {}): string {
    const fp = options.fp ?? `fp-${this.userId}-${++this.fpSeq}-${Date.now()}`;
    const qos = options.qos ?? true;
    this.send({ type: PacketType.DATA, to, dataContent: data, fp: qos ? fp : undefined, QoS: qos, typeu: options.typeu ?? -1 });
    return fp;
  }

  /** Sends a C2S message (to "0"); returns its fingerprint. */
  c2s(data: string, options: { qos?: boolean; fp?: string; typeu?: number } = {}): string {
    return this.c2c('0', data, options);
  }

  /** ACKs a received QoS packet the way the SDKs do. */
  ack(p: Packet): void {
    this.send({ type: PacketType.ACK, dataContent: p.fp, from: p.to, to: p.from, bridge: p.bridge });
  }

  keepalive(): void {
    this.send({ type: PacketType.KEEPALIVE, dataContent: '{}', to: '0' });
  }

  logout(): void {
    this.send({ type: PacketType.LOGOUT, to: '0' });
  }

  /** Takes the next received packet, waiting up to `timeoutMs`; it must match. */
  async expect(matcher: PacketMatcher, timeoutMs = 2000): Promise<Packet> {
    const p = await this.next(timeoutMs);
    if (!matches(p, matcher)) {
      throw new Error(`${this.transport} client ${this.userId ?? ''}: expected ${describe(matcher)}, got ${JSON.stringify(p)}`);
    }
    return p;
  }

  /** Fails if a packet is waiting now or arrives within `ms`. */
  async expectNothing(ms = 300): Promise<void> {
    const p = await this.next(ms).catch(() => undefined);
    if (p) throw new Error(`${this.transport} client ${this.userId ?? ''}: expected nothing, got ${JSON.stringify(p)}`);
  }

  /** Waits for the server to close the connection. */
  async expectClosed(timeoutMs = 2000): Promise<{ code?: number }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.transport} client: not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True once the connection closed. */
  get isOpen(): boolean {
    return !this.isClosed;
  }

  close(): void {
    if (this.isClosed) return;
    this.end();
    this.markClosed({});
  }

  private next(timeoutMs: number): Promise<Packet> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`${this.transport} client ${this.userId ?? ''}: no packet within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  private deliver(text: string): void {
    this.rawLog.push(text);
    const p = JSON.parse(text) as Packet;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.resolve(p);
    } else {
      this.inbox.push(p);
    }
  }

  private markClosed(info: { code?: number }): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onClosed(info);
  }
}

function matches(p: Packet, m: PacketMatcher): boolean {
  if (typeof m === 'function') return m(p);
  return Object.entries(m).every(([k, v]) => (p as unknown as Record<string, unknown>)[k] === v);
}

function describe(m: PacketMatcher): string {
  return typeof m === 'function' ? m.toString() : JSON.stringify(m);
}
