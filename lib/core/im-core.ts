import { Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import { IMErrorDefinition, IMErrors } from '../errors/im-error-codes';
import { ResolvedIMOptions } from '../im-options.interface';
import { Packet } from '../protocol/packet';
import { DecodeResult, decodePacket, encodePacket } from '../protocol/packet-codec';
import { NO_USER_ID, PacketType, SERVER_USER_ID } from '../protocol/packet-type';
import {
  ackPacket, errorResponse, keepaliveResponse, kickoutPacket, LoginInfo, loginResponse, parseLoginInfo,
} from '../protocol/payloads';
import { KickoutCode, NO_KICK, ProtocolErrorCode } from '../protocol/protocol-codes';
import { QoSEntry, QoSOutcome, SendQoSTable } from '../qos/send-qos-table';
import { RetransmitPolicy, retransmitPolicies } from '../qos/retransmit-policy';
import { ReceiveDedupTable } from '../qos/receive-dedup-table';
import { AbuseLog } from './abuse-log';
import { Admission } from './admission';
import { BridgePort } from './bridge-port';
import type { IMClusterPort } from './cluster-port';
import type { DeliveryResult, DeliveryStatus } from './delivery-result';
import { closeReasonOf, IMCloseReason } from '../metrics/close-reason';
import { IMMetrics, NOOP_METRICS } from '../metrics/im-metrics';
import { Clock, ClockTimer, SystemClock } from './clock';
import { IMConnection, TransportKind } from './connection';
import { HookVerdict, IMCoreHooks, IMRefusal, isRefusal, isThenable } from './core-hooks';
import { countOpenFds, readOpenFileLimit } from './fd-limit';
import { emptyStats, IMCoreEvent, IMStats } from './im-events';
import { logText } from './log-text';
import { LoginThrottle } from './login-throttle';
import { OnlineTable } from './online-table';
import { RemoteRouter } from './remote-router';
import type { IMSessionSink } from './session-sink';
import { Session } from './session';
import { sessionLog } from './session-log';
import { TimerWheel } from './timer-wheel';
import { CoreContext } from './core-context';
import { StorePath } from './store-path';
import { SessionLifecycle } from './session-lifecycle';
import { Outbound } from './outbound';
import { Delivery } from './delivery';
import { ServerPush } from './s2c-push';
import { Login } from './login';
import { MessageRouting } from './message-routing';
import { AppendResult, IMMessageStore, StoreRefusalReason } from '../store/message-store';
import { createMessageStore } from '../store/create-message-store';

export type { DeliveryResult, DeliveryStatus } from './delivery-result';

/** What a graceful drain did with the packets awaiting an ACK. */
export interface DrainReport {
  /** ACKed while draining. */
  readonly delivered: number;
  /** Handed to the message store (none without one). */
  readonly stored: number;
  /** Reported lost (`@OnMessagesLost`, PushService `lost`). */
  readonly lost: number;
}

/** ACKs, keepalives and logouts: mandatory for the client, cheap for the server; they have a budget of their own. */
const CONTROL_TYPES: ReadonlySet<number> = new Set([PacketType.ACK, PacketType.KEEPALIVE, PacketType.LOGOUT]);


/**
 * The protocol core (PROTOCOL.md §4-§10): sessions, login, the online table,
 * routing and QoS, whatever the transport. Transports hand it complete frame
 * bodies; it answers through {@link IMConnection}. Each session's packets are
 * handled strictly in order: while an asynchronous hook runs, later packets
 * of that session wait in its queue.
 */
export class IMCore implements IMSessionSink, IMClusterPort {
  /** user id → session (PROTOCOL.md §4). */
  readonly online: OnlineTable;
  /** Operational counters. */
  readonly stats: IMStats;
  /** Session and delivery events (emitted only while observed); `PushService.events$` publishes them as plain data. */
  readonly events: Subject<IMCoreEvent>;
  readonly clock: Clock;
  /** Where undelivered messages wait for their recipient's next login (`store` option); null with `store: false`. */
  readonly store: IMMessageStore | null;

  /** What the parts share. */
  private readonly ctx: CoreContext;
  private readonly storePath: StorePath;
  private readonly lifecycle: SessionLifecycle;
  private readonly out: Outbound;
  private readonly delivery: Delivery;
  private readonly s2c: ServerPush;
  private readonly login: Login;
  private readonly routing: MessageRouting;
  private readonly idleWheel: TimerWheel<Session>;
  /** Stream sessions not read until their packet budget refills (backpressure). */
  private readonly pausedSessions = new Set<Session>();
  private ticker?: ClockTimer;

  constructor(private readonly options: ResolvedIMOptions) {
    const ctx = (this.ctx = new CoreContext(options, {
      retransmit: (e) => this.delivery.retransmit(e),
      lost: (es) => this.storePath.undelivered(es, 'retransmit-exhausted'),
    }));
    ({ online: this.online, stats: this.stats, events: this.events, clock: this.clock, store: this.store } = ctx);
    this.storePath = new StorePath(ctx);
    this.lifecycle = new SessionLifecycle(ctx, this.storePath);
    this.out = new Outbound(ctx, this.lifecycle, this.storePath);
    this.delivery = new Delivery(ctx, this.out, this.storePath);
    this.s2c = new ServerPush(ctx, this.out, this.storePath);
    this.login = new Login(ctx, this.lifecycle, this.out, this.delivery);
    this.routing = new MessageRouting(ctx, this.out, this.delivery, this.storePath);
    this.idleWheel = new TimerWheel<Session>(Math.max(options.tickMs, 250), this.clock.now(), (s, t) => this.checkIdle(s, t));
  }

  /** Where counters with transport and reason labels go (no-op unless metrics are on); set once by the metrics provider. */
  get metrics(): IMMetrics {
    return this.ctx.metrics;
  }

  set metrics(metrics: IMMetrics) {
    this.ctx.metrics = metrics;
  }

  /** Installs the application's hooks (built by the handler explorer). */
  setHooks(hooks: IMCoreHooks): void {
    this.ctx.hooks = hooks;
  }

  /** Routes what is addressed to users who are not on this node (the Redis cluster). */
  setRemoteRouter(remote: RemoteRouter | undefined): void {
    this.ctx.remote = remote;
  }

  /** Sends what is addressed to users online nowhere here across the MobileIMSDK-Web bridge (`lib/bridge`). */
  setBridge(bridge: BridgePort | undefined): void {
    this.ctx.bridge = bridge;
  }

  /** Starts the shared timer tick (idle timeouts, QoS). */
  start(): void {
    if (this.ticker) return;
    this.ticker = this.clock.every(this.options.tickMs, () => this.tick());
  }

  /** Runs due timers now; the tick calls it, and so can tests. */
  tick(): void {
    const now = this.clock.now();
    this.idleWheel.advance(now);
    this.resumePaused();
    this.ctx.sendQoS.tick(now);
    this.ctx.dedup.purge(now);
  }

  /** Stops timers and hands every pending QoS packet over as undelivered ('shutdown'): kept by a durable store, else reported lost. */
  stop(): void {
    this.ctx.shuttingDown = true;
    this.ticker?.cancel();
    this.ticker = undefined;
    this.storePath.undelivered(this.ctx.sendQoS.takeAll(), 'shutdown');
    this.idleWheel.clear();
  }

  /** Waits for the store operations under way (shutdown: after the sessions closed), then closes a store the core made. */
  closeStore(): Promise<void> {
    return this.storePath.close();
  }

  /** Sessions open on every transport. */
  get sessionCount(): number {
    return this.ctx.sessions.size;
  }

  /** Packets waiting for an ACK. */
  get pendingQoS(): number {
    return this.ctx.sendQoS.size;
  }

  /** Sessions that have not logged in yet. */
  get unauthenticatedCount(): number {
    return this.ctx.admission.unauthenticated;
  }

  /** C2S fingerprints remembered for dedup, and their estimated bytes. */
  get dedupSize(): { entries: number; bytes: number } {
    return { entries: this.ctx.dedup.size, bytes: this.ctx.dedup.bytes };
  }

  /** Connection admission, asked by a transport before it opens a session (see {@link SessionLifecycle.admit}). */
  admit(transport: TransportKind, remoteAddress: string, stream: boolean): IMErrorDefinition | null {
    return this.lifecycle.admit(transport, remoteAddress, stream);
  }

  /** Entries in the C2S dedup table. */
  get dedupEntries(): number {
    return this.ctx.dedup.size;
  }

  // ---------------------------------------------------------------- transport side

  /** A transport opened a session (TCP accept, WebSocket upgrade, first UDP datagram). */
  openSession(connection: IMConnection): Session {
    const now = this.clock.now();
    const session = this.lifecycle.open(connection, now);
    this.idleWheel.schedule(session, now + Math.min(connection.idleTimeoutMs, this.options.limits.loginTimeoutMs));
    return session;
  }

  /** One complete frame body arrived on `session`. */
  receive(session: Session, text: string): void {
    if (session.closed) return;
    const now = this.clock.now();
    session.lastActivity = now;
    this.stats.packetsIn++;
    if (session.connection.connectionless) session.lastInboundBytes = Buffer.byteLength(text);
    // Behind an asynchronous handler, or read before a pause took effect: wait in order.
    if (session.busy || session.paused) {
      const queue = (session.queue ??= []);
      const { maxQueuedPackets, maxQueuedBytes } = this.options.limits;
      if (queue.length >= maxQueuedPackets || session.queuedChars + text.length > maxQueuedBytes) {
        this.stats.queueOverflow++;
        this.ctx.metrics.rateLimited(session.transport, IMErrors.QUEUE_OVERFLOW.id);
        this.ctx.abuse.session(session, IMErrors.QUEUE_OVERFLOW.id, 'closing');
        this.lifecycle.closeSession(session, 'queue-overflow', IMErrors.QUEUE_OVERFLOW.id);
        return;
      }
      session.queuedChars += text.length;
      queue.push(text);
      return;
    }
    this.process(session, text);
  }

  /**
   * The transport rejected input before it became a packet (oversize frame,
   * binary WebSocket frame, bad UTF-8...). Stream transports close; UDP drops
   * the datagram and keeps the session (QUIRK-9 fix).
   */
  rejectFrame(session: Session, error: IMErrorDefinition, detail?: string): void {
    session.lastActivity = this.clock.now();
    this.lifecycle.badInput(session, error, detail ?? '');
  }

  /** The transport's connection is gone (peer close, error, or our own close completing). */
  connectionClosed(session: Session): void {
    this.lifecycle.connectionClosed(session);
  }

  /** Ends a session (see {@link SessionLifecycle.closeSession}). */
  closeSession(session: Session, reason: IMCloseReason, detail: string = reason): void {
    this.lifecycle.closeSession(session, reason, detail);
  }

  /** Closes every session (graceful shutdown). */
  closeAll(reason: IMCloseReason): void {
    this.lifecycle.closeAll(reason);
  }

  /**
   * Graceful shutdown, first half (issue 11): from now on only ACKs, keepalives
   * and logouts are processed (anything else is left un-ACKed for the client to
   * resend to another server); waits up to `timeoutMs` (real time) for the ACKs
   * of packets whose recipient is still connected here, then hands what is still
   * unACKed to {@link undelivered} ('shutdown'). The caller closes the sessions.
   */
  async drain(timeoutMs: number): Promise<DrainReport> {
    this.ctx.draining = true;
    const delivered0 = this.stats.delivered;
    const deadline = Date.now() + timeoutMs;
    // Bounded by the deadline; polls because an ACK settles the table from any session.
    while (Date.now() < deadline && this.awaitingConnectedAck()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, Math.max(1, deadline - Date.now()))));
    }
    const lost0 = this.stats.lost;
    // From here a store that dies with the process keeps nothing: what it would get is reported lost.
    this.ctx.shuttingDown = true;
    const handedOver = this.ctx.sendQoS.takeAll();
    this.storePath.undelivered(handedOver, 'shutdown');
    // A durable store's answers, so that what it refused is counted as lost.
    await this.storePath.settled();
    const lost = this.stats.lost - lost0;
    return { delivered: this.stats.delivered - delivered0, stored: handedOver.length - lost, lost };
  }

  /** Some packet awaits an ACK from a user still connected here (an ACK can still come). */
  private awaitingConnectedAck(): boolean {
    for (const userId of this.ctx.sendQoS.recipients()) {
      const session = this.online.get(userId);
      if (session && !session.closed) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- server side API

  /**
   * Sends a server-originated packet (S2C) to `userId`. With `packet.QoS` the
   * promise settles when the client ACKs or the packet is declared lost.
   * A user on another node is reached through the cluster unless `localOnly`.
   */
  push(userId: string, packet: Packet, localOnly = false, store = false): Promise<DeliveryResult> {
    return this.s2c.push(userId, packet, localOnly, store);
  }

  /** Kicks `userId` on this node with code 2 (application/admin) and an optional reason. False if not here. */
  kick(userId: string, reason?: string): boolean {
    return this.login.kick(userId, reason);
  }

  /** Kicks `userId` wherever it is online (this node or, in a cluster, another). */
  kickAnywhere(userId: string, reason?: string): Promise<boolean> {
    return this.login.kickAnywhere(userId, reason);
  }

  /** Another node's login of `userId` supersedes this node's session (see {@link Login.supersede}). */
  supersede(userId: string, clientTime: number, sessionId?: number): 'kicked' | 'retired' | 'stale' | 'absent' {
    return this.login.supersede(userId, clientTime, sessionId);
  }

  /** Refuses a login that another node found stale (its device logged in earlier than the online one). */
  rejectStaleLogin(userId: string, session: Session): void {
    this.login.rejectStaleLogin(userId, session);
  }

  /** Delivers a C2C packet that another node routed here; false if the user has no session here. */
  deliverRemoteC2C(p: Packet): boolean {
    return this.routing.deliverRemoteC2C(p);
  }

  /** Delivers a packet that arrived over the MobileIMSDK-Web bridge (see {@link MessageRouting.deliverBridged}). */
  deliverBridged(p: Packet): Promise<'delivered' | 'stored' | 'dropped' | 'unknown'> {
    return this.routing.deliverBridged(p);
  }

  // ---------------------------------------------------------------- dispatch

  private process(session: Session, text: string): void {
    const decoded = decodePacket(text, { lenient: this.options.lenientJson });
    if (!this.admitPacket(session, decoded, text)) return;
    // Draining: what a client sends now is not ACKed, so its own QoS keeps it for the next server.
    if (this.ctx.draining && !(decoded.ok && CONTROL_TYPES.has(decoded.packet.type))) {
      this.stats.drainIgnored++;
      return;
    }
    let result: Promise<unknown> | void;
    try {
      result = this.dispatch(session, decoded);
    } catch (err) {
      this.ctx.handlerFailed(session, err);
      return;
    }
    if (result) this.waitFor(session, result);
  }

  /** Holds the session's later packets until `pending` settles, then drains them in order. */
  private waitFor(session: Session, pending: Promise<unknown>): void {
    session.busy = true;
    const resume = () => {
      session.busy = false;
      this.drainQueue(session);
    };
    pending.then(resume, (err) => {
      this.ctx.handlerFailed(session, err);
      resume();
    });
  }

  /** Processes queued packets in order until the queue is empty, a handler is pending or the budget runs out. */
  private drainQueue(session: Session): void {
    const queue = session.queue;
    while (!session.busy && !session.closed && !session.paused && queue && queue.length > 0) {
      const text = queue.shift() as string;
      session.queuedChars -= text.length;
      this.process(session, text);
    }
  }

  /**
   * The packet budget (issue 11): ACKs, keepalives and logouts of a logged-in
   * session spend a budget of their own, everything else the data budget. Over
   * budget, a TCP or WebSocket session keeps the packet (first in its queue) and
   * stops being read until the tick finds the budget refilled; UDP drops it.
   */
  private admitPacket(session: Session, decoded: DecodeResult, text: string): boolean {
    const now = this.clock.now();
    const control = session.authenticated && decoded.ok && CONTROL_TYPES.has(decoded.packet.type);
    if (control ? this.takeControlToken(session, now) : this.takeToken(session, now)) return true;
    if (session.connection.connectionless) {
      this.rateLimited(session, now);
      return false;
    }
    const queue = (session.queue ??= []);
    queue.unshift(text);
    session.queuedChars += text.length;
    if (!session.paused) {
      session.paused = true;
      session.paced = true;
      this.pausedSessions.add(session);
      this.stats.readPauses++;
      this.ctx.metrics.rateLimited(session.transport, IMErrors.READ_PAUSED.id);
      this.ctx.abuse.session(session, IMErrors.READ_PAUSED.id, control ? '(ACKs, keepalives)' : '');
      session.connection.pause();
    }
    return false;
  }

  /** Tick: sessions paused for their budget drain what they queued and, once it is gone, are read again. */
  private resumePaused(): void {
    if (this.pausedSessions.size === 0) return;
    for (const session of [...this.pausedSessions]) {
      this.pausedSessions.delete(session);
      session.paused = false;
      if (session.closed) continue;
      this.drainQueue(session);
      if (!session.paused && !session.closed) session.connection.resume();
    }
  }

  private dispatch(session: Session, decoded: DecodeResult): Promise<unknown> | void {
    if (!decoded.ok) return this.lifecycle.badInput(session, decoded.error, decoded.detail);
    const p = decoded.packet;
    this.ctx.metrics.packetIn(session.transport, p.type);
    switch (p.type) {
      case PacketType.LOGIN:
        return this.login.login(session, p);
      case PacketType.KEEPALIVE:
        if (session.userId === null) return this.notLoggedIn(session, p);
        // QUIRK-1 fix: answer only the session that is its user's table entry.
        if (this.online.isCurrent(session)) this.out.write(session, keepaliveResponse(session.userId));
        return;
      case PacketType.DATA:
        if (session.userId === null) return this.notLoggedIn(session, p);
        return this.routing.data(session, p);
      case PacketType.LOGOUT:
        return this.lifecycle.closeSession(session, 'logout');
      case PacketType.ACK:
        if (session.userId === null) return this.notLoggedIn(session, p);
        return this.delivery.ack(session, p);
      case PacketType.ECHO:
        if (this.options.echoRequiresLogin && session.userId === null) return this.notLoggedIn(session, p);
        // QUIRK-10 fix: echo replies are never tracked for retransmission.
        this.out.write(session, { ...p, type: PacketType.ECHO_RESPONSE });
        return;
      default:
        this.stats.unknownType++;
        return;
    }
  }

  /** Type 1, 2 or 4 before login: error 301 quoting the packet, then close (TCP/WS). */
  private notLoggedIn(session: Session, p: Packet): void {
    this.stats.notLoggedIn++;
    this.ctx.metrics.refused(session.transport, IMErrors.NOT_LOGGED_IN.id);
    this.out.write(session, errorResponse(ProtocolErrorCode.NOT_LOGGED_IN, encodePacket(p)));
    if (!session.connection.connectionless) this.lifecycle.closeSession(session, 'not-logged-in', IMErrors.NOT_LOGGED_IN.id);
  }

  private takeToken(session: Session, now: number): boolean {
    const limits = this.options.limits;
    const anonymous = !session.authenticated;
    const packetsPerSecond = anonymous ? limits.anonymousPacketsPerSecond : limits.packetsPerSecond;
    const burst = anonymous ? limits.anonymousBurst : limits.burst;
    session.tokens = Math.min(burst, session.tokens + ((now - session.tokensAt) * packetsPerSecond) / 1000);
    session.tokensAt = now;
    if (session.tokens < 1) return false;
    session.tokens -= 1;
    return true;
  }

  private takeControlToken(session: Session, now: number): boolean {
    const { controlPacketsPerSecond, controlBurst } = this.options.limits;
    session.controlTokens = Math.min(controlBurst, session.controlTokens + ((now - session.controlTokensAt) * controlPacketsPerSecond) / 1000);
    session.controlTokensAt = now;
    if (session.controlTokens < 1) return false;
    session.controlTokens -= 1;
    return true;
  }

  /** A UDP packet over budget is dropped (the clients retransmit): counted, logged, and the client told at most once a second. */
  private rateLimited(session: Session, now: number): void {
    this.stats.rateLimited++;
    this.ctx.metrics.rateLimited(session.transport, IMErrors.RATE_LIMITED.id);
    this.ctx.abuse.session(session, IMErrors.RATE_LIMITED.id, session.authenticated ? '' : '(not logged in)');
    // Tell the client at most once a second, so a flood is not answered by a flood.
    if (now - session.limitedNoticeAt >= 1000) {
      session.limitedNoticeAt = now;
      this.out.sendError(session, IMErrors.RATE_LIMITED.wireCode, IMErrors.RATE_LIMITED.message());
    }
  }

  private checkIdle(session: Session, now: number): void {
    if (session.closed) return;
    const loginDeadline = session.authenticated ? Infinity : session.openedAt + this.options.limits.loginTimeoutMs;
    if (now >= loginDeadline) {
      this.stats.loginTimeouts++;
      this.ctx.abuse.process(IMErrors.LOGIN_TIMEOUT.id, `${session} closed: ${IMErrors.LOGIN_TIMEOUT.message()}`);
      this.lifecycle.closeSession(session, 'login-timeout', IMErrors.LOGIN_TIMEOUT.id);
      return;
    }
    const deadline = session.lastActivity + session.connection.idleTimeoutMs;
    if (now < deadline) {
      this.idleWheel.schedule(session, Math.min(deadline, loginDeadline));
      return;
    }
    this.stats.idleTimeouts++;
    this.lifecycle.closeSession(session, 'idle-timeout', 'idle timeout');
  }
}
