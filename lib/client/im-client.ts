import { IMErrors } from '../errors/im-error-codes';
import { clientPacket, Packet, PacketInit } from '../protocol/packet';
import { decodePacket, encodePacket } from '../protocol/packet-codec';
import { PacketType, SERVER_USER_ID } from '../protocol/packet-type';
import { ackFor, dataPacket, echoPacket, keepalivePacket, loginPacket, logoutPacket } from '../protocol/payloads';
import { newFingerprint } from './fingerprint';
import {
  CloseReason,
  IMClientEvents,
  IMClientOptions,
  KickoutInfo,
  LoginRequest,
  LoginResult,
  SendOptions,
  SendOutcome,
  ServerErrorInfo,
} from './im-client-types';
import { KeepaliveTimer } from './keepalive-timer';
import { IMLink, IMLinkFactory, LinkCloseInfo } from './link';
import { PacketPredicate, PacketQueue } from './packet-queue';
import { DEFAULT_QOS_TIMINGS, QoSOutcome, QoSOutbox } from './qos-outbox';
import { ReceivedFingerprints } from './received-fingerprints';
import { KeepaliveTimings, senseModeTimings } from '../protocol/sense-mode';
import { unrefTimer } from './timers';
import { TypedEmitter } from './typed-emitter';

interface PendingRequest<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Reasons after which the client is "released": pending QoS sends are reported lost at once. */
const RELEASING: ReadonlySet<CloseReason> = new Set<CloseReason>(['local', 'logout', 'kicked', 'login-failed']);

/**
 * A MobileIMSDK-compatible client that behaves like the official SDKs on the
 * wire (PROTOCOL.md §5.2, §10.6): login with `firstLoginTime`, keepalive and
 * link-loss detection, QoS sends with retransmission, ACK and deduplication of
 * received QoS packets. It runs over any {@link IMLink}; no automatic re-login.
 *
 * For tests and benchmarks it also exposes the wire: `sendPacket`, `sendRaw`
 * and `nextPacket` (a FIFO of received packets).
 */
export class IMClient extends TypedEmitter<IMClientEvents> {
  private currentLink: IMLink | null = null;
  private connected = false;
  private loggedIn = false;
  private currentUserId: string | undefined;
  private savedFirstLoginTime = 0;
  private closeReason: CloseReason | null = null;
  private closeWaiters: Array<() => void> = [];
  private pendingLogin: (PendingRequest<LoginResult> & { userId: string }) | null = null;
  private readonly pendingEchoes: Array<PendingRequest<Packet>> = [];
  private keepalive: KeepaliveTimer | null = null;
  private readonly qos: QoSOutbox;
  private readonly dedup: ReceivedFingerprints;
  private readonly queue: PacketQueue;
  private readonly requestTimeoutMs: number;
  private readonly now: () => number;

  /** `link` is used for every connection; a factory makes a new link per `connect()`. */
  constructor(
    private readonly linkSource: IMLink | IMLinkFactory,
    private readonly options: IMClientOptions = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.qos = new QoSOutbox({ ...DEFAULT_QOS_TIMINGS, ...options.qos }, (body) => this.sendRaw(body), this.now);
    this.dedup = new ReceivedFingerprints(options.dedup?.ttlMs ?? 600_000, options.dedup?.maxEntries ?? 50_000, this.now);
    this.queue = new PacketQueue(options.packetQueueSize ?? 1000);
  }

  /** The current (or last) link. */
  get link(): IMLink | null {
    return this.currentLink;
  }

  /** True while the link is open and not closing. */
  get isConnected(): boolean {
    return this.connected;
  }

  /** True after a successful login, until a 301, a close or a logout. */
  get isLoggedIn(): boolean {
    return this.loggedIn;
  }

  /** The user id of the last successful login. */
  get userId(): string | undefined {
    return this.currentUserId;
  }

  /** The `firstLoginTime` the next login will send (0 before the first successful login). */
  get firstLoginTime(): number {
    return this.savedFirstLoginTime;
  }

  /** QoS packets sent and not yet ACKed or lost. */
  get pendingQoS(): number {
    return this.qos.size;
  }

  /** Received packets waiting in the FIFO for `nextPacket()`. */
  get queuedPackets(): number {
    return this.queue.length;
  }

  /**
   * Opens a link to the server. Rejects when already connected or when the
   * link cannot open. A link still closing (after a refused login, a kick or
   * `close()`) is waited for first, so `connect()` works whenever `isConnected` is false.
   */
  async connect(): Promise<void> {
    if (this.connected) throw new Error('IMClient is already connected');
    if (this.closeWaiters.length > 0) await new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (this.connected) throw new Error('IMClient is already connected');
    const link = typeof this.linkSource === 'function' ? this.linkSource() : this.linkSource;
    const timings = this.keepaliveTimings(link);
    link.onPacket = (text) => this.receive(text);
    link.onClose = (info) => this.linkClosed(info);
    this.currentLink = link;
    await link.open();
    this.connected = true;
    this.closeReason = null;
    this.keepalive = timings
      ? new KeepaliveTimer(timings, () => this.sendPacket(keepalivePacket(this.currentUserId)), () => this.keepaliveTimedOut(), this.now)
      : null;
  }

  /**
   * Logs in and resolves with the server's response, whatever its code. On a
   * non-zero code the client closes, as the SDKs do. On success the response's
   * `firstLoginTime` is saved when the client was not logged in (as the SDKs do),
   * and the keepalive starts. Rejects on timeout or when the link closes first.
   */
  login(request: LoginRequest): Promise<LoginResult> {
    if (!this.connected) return Promise.reject(new Error('IMClient is not connected'));
    if (this.pendingLogin) return Promise.reject(new Error('a login is already in progress'));
    const packet = loginPacket({
      loginUserId: request.userId,
      loginToken: request.token,
      extra: request.extra,
      firstLoginTime: request.firstLoginTime ?? this.savedFirstLoginTime,
      // Ask for error 404 with the fp when a C2C will not be delivered (ignored by other servers).
      notifyUndeliverable: true,
    });
    const response = new Promise<LoginResult>((resolve, reject) => {
      this.pendingLogin = { userId: request.userId, ...this.request(resolve, reject, 'login', () => (this.pendingLogin = null)) };
    });
    this.sendRawOrFail(encodePacket(packet), () => this.pendingLogin);
    return response;
  }

  /** Sends a C2C message to `to`; with QoS (default) resolves `'delivered'` on its ACK or `'lost'`. */
  sendC2C(to: string, data: string, options: SendOptions = {}): Promise<SendOutcome> {
    if (!this.loggedIn) return Promise.reject(new Error('IMClient is not logged in'));
    const qos = options.qos ?? true;
    const packet = dataPacket(this.currentUserId, to, data, {
      qos,
      typeu: options.typeu ?? -1,
      fp: options.fp ?? (qos ? newFingerprint() : undefined),
    });
    return this.sendData(packet);
  }

  /** Sends a C2S message (`to` "0") to the server's application; same results as `sendC2C`. */
  sendC2S(data: string, options: SendOptions = {}): Promise<SendOutcome> {
    return this.sendC2C(SERVER_USER_ID, data, options);
  }

  /**
   * Sends any packet with QoS: sets `QoS`, adds an fp if missing, and tracks it
   * like a data send. No login needed (for wire tests). Throws when not connected.
   */
  sendQoS(init: PacketInit): Promise<QoSOutcome> {
    const packet = clientPacket({ ...init, QoS: true, fp: init.fp ?? newFingerprint() });
    const body = encodePacket(packet);
    this.sendRaw(body);
    return this.qos.track(packet.fp as string, body);
  }

  /**
   * Sends one packet exactly as given, completed with the SDK defaults
   * (`bridge`/`QoS` false, `typeu`/`sm` -1); no tracking. Returns the packet
   * sent. Throws when not connected.
   */
  sendPacket(init: PacketInit): Packet {
    const packet = clientPacket(init);
    this.sendRaw(encodePacket(packet));
    return packet;
  }

  /** Sends a body as is (any text, valid or not). Throws when not connected. */
  sendRaw(body: string): void {
    if (!this.connected || !this.currentLink) throw new Error('IMClient is not connected');
    this.currentLink.send(body);
  }

  /**
   * The next received packet that `predicate` accepts, oldest first, waiting
   * up to `timeoutMs`. Every received packet is queued (before deduplication),
   * except the responses consumed by `login()` and `echo()`. Rejects on timeout
   * or when the link closes while waiting.
   */
  nextPacket(predicate: PacketPredicate = () => true, timeoutMs = this.requestTimeoutMs): Promise<Packet> {
    return this.queue.take(predicate, timeoutMs);
  }

  /** Removes and returns every queued received packet. */
  drainPackets(): Packet[] {
    return this.queue.drain();
  }

  /** Sends an echo (type 5) and resolves with the server's type-53 reply. Replies are matched in order. */
  echo(data: string, timeoutMs = this.requestTimeoutMs): Promise<Packet> {
    if (!this.connected) return Promise.reject(new Error('IMClient is not connected'));
    const reply = new Promise<Packet>((resolve, reject) => {
      const entry: PendingRequest<Packet> = this.request(resolve, reject, 'echo', () => {
        const i = this.pendingEchoes.indexOf(entry);
        if (i >= 0) this.pendingEchoes.splice(i, 1);
      }, timeoutMs);
      this.pendingEchoes.push(entry);
    });
    this.sendRawOrFail(encodePacket(echoPacket(this.currentUserId, data)), () => this.pendingEchoes.pop() ?? null);
    return reply;
  }

  /**
   * Logs out: sends a logout (type 3, never answered) and closes. The saved
   * `firstLoginTime` is cleared, as the SDKs do, and pending QoS sends are lost.
   */
  logout(): Promise<void> {
    if (!this.connected) return this.close();
    try {
      this.sendPacket(logoutPacket(this.currentUserId));
    } catch {
      // Closing anyway.
    }
    this.savedFirstLoginTime = 0;
    return this.shutdown('logout');
  }

  /** Closes the link without logging out; resolves once it is closed. Pending QoS sends are lost. */
  close(): Promise<void> {
    return this.shutdown('local');
  }

  private keepaliveTimings(link: IMLink): KeepaliveTimings | null {
    const o = this.options.keepalive;
    if (o === false) return null;
    return { ...senseModeTimings(this.options.senseMode ?? 'DEFAULT', link.kind), ...o };
  }

  private sendData(packet: Packet): Promise<SendOutcome> {
    try {
      if (!packet.QoS) {
        this.sendRaw(encodePacket(packet));
        return Promise.resolve('sent');
      }
      return this.sendQoS(packet);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Builds a pending request whose timeout and settlement both run `remove`. */
  private request<T>(
    resolve: (v: T) => void,
    reject: (e: Error) => void,
    what: string,
    remove: () => void,
    timeoutMs = this.requestTimeoutMs,
  ): PendingRequest<T> {
    const timer = unrefTimer(
      setTimeout(() => {
        remove();
        reject(new Error(`${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs),
    );
    return {
      resolve: (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      reject: (e) => {
        clearTimeout(timer);
        remove();
        reject(e);
      },
      timer,
    };
  }

  /** Sends a request body; if the write throws, fails the request `take()` returns. */
  private sendRawOrFail(body: string, take: () => { reject: (e: Error) => void } | null): void {
    try {
      this.sendRaw(body);
    } catch (err) {
      take()?.reject(err as Error);
    }
  }

  /**
   * Applies a login response at once, in the receive path, so that state is
   * settled before any later packet or close of the same read is handled.
   */
  private loginAnswered(packet: Packet): void {
    const pending = this.pendingLogin as PendingRequest<LoginResult> & { userId: string };
    this.pendingLogin = null;
    const userId = pending.userId;
    const result = parseLoginResponse(packet.dataContent);
    if (!result) {
      pending.reject(new Error(`unreadable login response: ${String(packet.dataContent)}`));
      return;
    }
    if (result.code === 0) {
      // The SDKs keep the first value while logged in, so it stays constant across re-logins.
      if (!this.loggedIn) this.savedFirstLoginTime = result.firstLoginTime;
      this.loggedIn = true;
      this.currentUserId = userId;
      this.keepalive?.start();
    } else {
      this.loggedIn = false;
      void this.shutdown('login-failed');
    }
    pending.resolve(result);
  }

  /** Handles one received body. Never throws: it runs inside socket callbacks. */
  private receive(text: string): void {
    const decoded = decodePacket(text);
    if (!decoded.ok) {
      this.emit('invalidPacket', text, decoded.detail);
      return;
    }
    const p = decoded.packet;
    const qos = p.QoS && p.fp !== undefined;
    // ACK first, duplicates included, so a throwing listener cannot suppress it;
    // a failed login response is the SDKs' one exception.
    if (qos && this.options.autoAck !== false && !(p.type === PacketType.LOGIN_RESPONSE && loginCode(p) !== 0)) {
      try {
        this.sendPacket(ackFor(p));
      } catch {
        // The link closed; the sender will retransmit.
      }
    }
    this.emit('packet', p);
    if (qos && this.dedup.checkAndRecord(p.fp as string)) {
      this.queue.push(p);
      return;
    }
    this.dispatch(p);
  }

  private dispatch(p: Packet): void {
    switch (p.type) {
      case PacketType.LOGIN_RESPONSE:
        if (this.pendingLogin) return this.loginAnswered(p);
        break;
      case PacketType.ECHO_RESPONSE:
        // Echo replies carry no request id; a session's packets are answered in order.
        if (this.pendingEchoes.length > 0) return (this.pendingEchoes.shift() as PendingRequest<Packet>).resolve(p);
        break;
      case PacketType.KEEPALIVE_RESPONSE:
        this.keepalive?.answered();
        break;
      case PacketType.ACK:
        if (p.dataContent !== undefined) this.qos.acknowledge(p.dataContent);
        break;
      case PacketType.ERROR:
        this.serverError(p);
        break;
      case PacketType.KICKOUT:
        this.queue.push(p);
        return this.kicked(p);
      case PacketType.DATA:
        this.queue.push(p);
        this.emit('message', p);
        return;
    }
    this.queue.push(p);
  }

  private serverError(p: Packet): void {
    const body = parseObject(p.dataContent);
    const errorCode = typeof body?.errorCode === 'number' ? body.errorCode : -1;
    if (errorCode === 301) {
      // The SDKs stop the keepalive and clear the logged-in flag (then re-login; we do not).
      this.loggedIn = false;
      this.keepalive?.stop();
    }
    const info: ServerErrorInfo = { errorCode, errorMsg: typeof body?.errorMsg === 'string' ? body.errorMsg : undefined, packet: p };
    if (p.fp !== undefined) {
      info.fp = p.fp;
      // An error naming one of our pending packets is its final answer: no need to wait ~15 s for "lost".
      this.qos.fail(p.fp, errorCode === IMErrors.UNDELIVERABLE.wireCode ? 'undeliverable' : 'refused');
    }
    this.emit('error', info);
  }

  private kicked(p: Packet): void {
    const body = parseObject(p.dataContent);
    const info: KickoutInfo = { code: typeof body?.code === 'number' ? body.code : -1 };
    if (typeof body?.reason === 'string') info.reason = body.reason;
    // Kicked SDKs release everything and do not re-login; the next login is a new device.
    this.loggedIn = false;
    this.savedFirstLoginTime = 0;
    this.emit('kicked', info);
    void this.shutdown('kicked');
  }

  private keepaliveTimedOut(): void {
    this.emit('linkLost', { reason: 'keepalive-timeout' });
    void this.shutdown('keepalive-timeout');
  }

  /** Starts closing with `reason`; resolves when the link reports it is closed. */
  private shutdown(reason: CloseReason): Promise<void> {
    const link = this.currentLink;
    if (!link || (!this.connected && this.closeWaiters.length === 0)) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (this.connected) {
      this.closeReason = reason;
      this.connected = false;
      this.loggedIn = false;
      this.keepalive?.stop();
      if (RELEASING.has(reason)) this.qos.failAll();
      link.close();
    }
    return closed;
  }

  private linkClosed(info: LinkCloseInfo): void {
    const reason = this.closeReason ?? 'remote';
    this.closeReason = null;
    this.connected = false;
    this.loggedIn = false;
    this.keepalive?.stop();
    // After a link loss pending QoS sends stay tracked, as in the SDKs: they are
    // resent if the application reconnects in time, and otherwise reported lost.
    const error = new Error(`connection closed (${reason})`);
    this.pendingLogin?.reject(error);
    for (const e of [...this.pendingEchoes]) e.reject(error);
    this.queue.rejectWaiters(error);
    if (reason === 'remote') this.emit('linkLost', { reason: 'remote', error: info.error });
    for (const resolve of this.closeWaiters.splice(0, this.closeWaiters.length)) resolve();
    this.emit('close', info.error ? { reason, error: info.error } : { reason });
  }
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function parseLoginResponse(text: string | undefined): LoginResult | undefined {
  const body = parseObject(text);
  if (!body || typeof body.code !== 'number') return undefined;
  return { code: body.code, firstLoginTime: typeof body.firstLoginTime === 'number' ? body.firstLoginTime : -1 };
}

function loginCode(p: Packet): number | undefined {
  return parseLoginResponse(p.dataContent)?.code;
}
