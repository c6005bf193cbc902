import type * as tls from 'tls';
import { IMLink, LinkCloseInfo } from '../client/link';
import { TcpLink } from '../client/tcp-link';
import { UdpLink } from '../client/udp-link';
import { WsLink } from '../client/ws-link';
import { clientPacket, Packet } from '../protocol/packet';
import { encodePacket } from '../protocol/packet-codec';
import { PacketType, SERVER_USER_ID } from '../protocol/packet-type';
import { ackFor, dataPacket, keepalivePacket, loginPacket, logoutPacket } from '../protocol/payloads';
import { TransportKind } from '../protocol/transport-kind';

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

/** A test may receive frames far over the SDKs' 6 KiB (a server bug under test must reach the assertion). */
const TEST_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * A wire-level MobileIMSDK client for tests: it sends exactly what it is told
 * and queues every packet it receives, so a test can assert the server's
 * behaviour packet by packet. Three lines make a scenario:
 * `const a = await app.connect('tcp'); await a.login('alice'); await a.expect({ type: 51 })`.
 *
 * It sits on `nestjs-im/client`'s links (`TcpLink`, `UdpLink`, `WsLink`: sockets
 * and framing) and packet builders, below `IMClient`: no keepalive, no QoS
 * resends and no automatic ACK, so every packet the server sends stays
 * visible and every ACK is the test's decision. Received packets are read
 * with `JSON.parse`, not the codec, so a field the server left out stays
 * absent instead of taking the reference's default.
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
    /** The `nestjs-im/client` link carrying this client's packets. */
    readonly link: IMLink & Required<Pick<IMLink, 'sendRaw' | 'abort'>>,
  ) {
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
  }

  /** Opens a connection (or a UDP socket) to the server. */
  static async connect(transport: TransportKind, port: number, options: IMTestClientOptions = {}): Promise<IMTestClient> {
    const host = options.host ?? '127.0.0.1';
    const v6 = host.includes(':');
    const link =
      transport === 'tcp'
        ? new TcpLink({ host, port, localAddress: options.localAddress, tls: options.tls, maxFrameBytes: TEST_MAX_FRAME_BYTES })
        : transport === 'ws'
          ? new WsLink({ host, port, path: options.path, secure: options.tls !== undefined, tls: options.tls })
          : // Bound to loopback unless told otherwise: tests talk to 127.0.0.0/8 only.
            new UdpLink({ host, port, localAddress: options.localAddress ?? (v6 ? '::1' : '127.0.0.1') });
    const client = new IMTestClient(transport, link);
    link.onPacket = (text) => client.deliver(text);
    link.onClose = (info) => client.markClosed(closeInfo(info));
    await link.open();
    return client;
  }

  /** Sends a packet; missing fields get the Java SDK's values (typeu -1, sm -1) and `from` the logged-in user. */
  send(fields: Partial<Packet> & { type: number }): void {
    this.sendPacket(clientPacket({ from: this.userId, ...fields }));
  }

  /** Sends text verbatim as one frame/message/datagram. Like every send here, throws once the connection is closed. */
  sendText(text: string): void {
    this.link.send(text);
  }

  /** Writes bytes with no framing (TCP), as a binary frame (WebSocket) or as a datagram (UDP). */
  sendRaw(bytes: Buffer): void {
    this.link.sendRaw(bytes);
  }

  /** Logs in and waits for the login response; resolves with its code and firstLoginTime. */
  async login(
    userId: string,
    options: { token?: string; extra?: string; firstLoginTime?: number; timeoutMs?: number } = {},
  ): Promise<{ code: number; firstLoginTime: number }> {
    this.sendPacket(loginPacket({ loginUserId: userId, loginToken: options.token ?? `token-${userId}`, extra: options.extra, firstLoginTime: options.firstLoginTime ?? 0 }));
    const reply = await this.expect({ type: PacketType.LOGIN_RESPONSE }, options.timeoutMs);
    const body = JSON.parse(reply.dataContent as string) as { code: number; firstLoginTime: number };
    if (body.code === 0) this.userId = userId;
    return body;
  }

  /** Sends a C2C message; returns its fingerprint. */
  c2c(to: string, data: string, options: { qos?: boolean; fp?: string; typeu?: number } = {}): string {
    const fp = options.fp ?? `fp-${this.userId}-${++this.fpSeq}-${Date.now()}`;
    const qos = options.qos ?? true;
    this.sendPacket(dataPacket(this.userId, to, data, { qos, typeu: options.typeu ?? -1, fp: qos ? fp : undefined }));
    return fp;
  }

  /** Sends a C2S message (to "0"); returns its fingerprint. */
  c2s(data: string, options: { qos?: boolean; fp?: string; typeu?: number } = {}): string {
    return this.c2c(SERVER_USER_ID, data, options);
  }

  /** ACKs a received QoS packet the way the SDKs do. */
  ack(p: Packet): void {
    this.sendPacket(ackFor(p));
  }

  keepalive(): void {
    this.sendPacket(keepalivePacket(this.userId));
  }

  logout(): void {
    this.sendPacket(logoutPacket(this.userId));
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

  /** Drops the connection at once (no logout, no flush), as a vanished device would. */
  close(): void {
    if (this.isClosed) return;
    this.link.abort();
    this.markClosed({});
  }

  private sendPacket(p: Packet): void {
    this.link.send(encodePacket(p));
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

function closeInfo(info: LinkCloseInfo): { code?: number } {
  return info.code === undefined ? {} : { code: info.code };
}

function matches(p: Packet, m: PacketMatcher): boolean {
  if (typeof m === 'function') return m(p);
  return Object.entries(m).every(([k, v]) => (p as unknown as Record<string, unknown>)[k] === v);
}

function describe(m: PacketMatcher): string {
  return typeof m === 'function' ? m.toString() : JSON.stringify(m);
}
