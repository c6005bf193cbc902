import { IMErrorDefinition, IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { DecodeResult, decodePacket, encodePacket } from '../protocol/packet-codec';
import { PacketType } from '../protocol/packet-type';
import { errorResponse, keepaliveResponse } from '../protocol/payloads';
import { ProtocolErrorCode } from '../protocol/protocol-codes';
import type { CoreContext } from './core-context';
import type { Delivery } from './delivery';
import type { Login } from './login';
import type { MessageRouting } from './message-routing';
import type { Outbound } from './outbound';
import type { Session } from './session';
import type { SessionLifecycle } from './session-lifecycle';

/** ACKs, keepalives and logouts: mandatory for the client, cheap for the server; they have a budget of their own. */
const CONTROL_TYPES: ReadonlySet<number> = new Set([PacketType.ACK, PacketType.KEEPALIVE, PacketType.LOGOUT]);

/**
 * A session's inbound packets, in order (PROTOCOL.md §5): each frame body is
 * decoded and dispatched by type to login, routing or the recipient's ACK.
 * While an asynchronous step runs (a handler, the store, a busy cluster
 * link) later packets wait in the session's queue, bounded in packets and
 * bytes. Every packet spends a token of the session's budget (data, or
 * control for ACKs, keepalives and logouts); over budget a TCP or WebSocket
 * session stops being read until the tick finds it refilled, a UDP packet is
 * dropped. While draining only control packets are processed. With
 * synchronous handlers a packet is handled to the end in the call that
 * received it.
 */
export class SessionPipeline {
  /** Stream sessions not read until their packet budget refills (backpressure). */
  private readonly pausedSessions = new Set<Session>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly lifecycle: SessionLifecycle,
    private readonly out: Outbound,
    private readonly login: Login,
    private readonly routing: MessageRouting,
    private readonly delivery: Delivery,
  ) {}

  /** One complete frame body arrived on `session`. */
  receive(session: Session, text: string): void {
    if (session.closed) return;
    const now = this.ctx.clock.now();
    session.lastActivity = now;
    this.ctx.stats.packetsIn++;
    if (session.connection.connectionless) session.lastInboundBytes = Buffer.byteLength(text);
    // Behind an asynchronous handler, or read before a pause took effect: wait in order.
    if (session.busy || session.paused) {
      const queue = (session.queue ??= []);
      const { maxQueuedPackets, maxQueuedBytes } = this.ctx.options.limits;
      if (queue.length >= maxQueuedPackets || session.queuedChars + text.length > maxQueuedBytes) {
        this.ctx.stats.queueOverflow++;
        this.ctx.metrics.rateLimited(session.transport, IMErrors.QUEUE_OVERFLOW.id);
        this.ctx.abuse.session(session, IMErrors.QUEUE_OVERFLOW.id, 'closing');
        this.lifecycle.closeSession(session, 'queue-overflow', IMErrors.QUEUE_OVERFLOW.id);
        return;
      }
      session.queuedChars += text.length;
      queue.push(text);
      return;
    }
    this.process(session, text, now);
  }

  /**
   * The transport rejected input before it became a packet (oversize frame,
   * binary WebSocket frame, bad UTF-8...). Stream transports close; UDP drops
   * the datagram and keeps the session (QUIRK-9 fix).
   */
  rejectFrame(session: Session, error: IMErrorDefinition, detail?: string): void {
    session.lastActivity = this.ctx.clock.now();
    this.lifecycle.badInput(session, error, detail ?? '');
  }

  private process(session: Session, text: string, now: number): void {
    const decoded = decodePacket(text, { lenient: this.ctx.options.lenientJson });
    if (!this.admitPacket(session, decoded, text, now)) return;
    // Draining: what a client sends now is not ACKed, so its own QoS keeps it for the next server.
    if (this.ctx.draining && !(decoded.ok && CONTROL_TYPES.has(decoded.packet.type))) {
      this.ctx.stats.drainIgnored++;
      return;
    }
    let result: Promise<unknown> | void;
    const outer = this.ctx.packetNow;
    this.ctx.packetNow = now;
    try {
      result = this.dispatch(session, decoded);
    } catch (err) {
      this.ctx.handlerFailed(session, err);
      return;
    } finally {
      this.ctx.packetNow = outer;
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
      this.process(session, text, this.ctx.clock.now());
    }
  }

  /**
   * The packet budget (issue 11): ACKs, keepalives and logouts of a logged-in
   * session spend a budget of their own, everything else the data budget. Over
   * budget, a TCP or WebSocket session keeps the packet (first in its queue) and
   * stops being read until the tick finds the budget refilled; UDP drops it.
   */
  private admitPacket(session: Session, decoded: DecodeResult, text: string, now: number): boolean {
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
      this.ctx.stats.readPauses++;
      this.ctx.metrics.rateLimited(session.transport, IMErrors.READ_PAUSED.id);
      this.ctx.abuse.session(session, IMErrors.READ_PAUSED.id, control ? '(ACKs, keepalives)' : '');
      session.connection.pause();
    }
    return false;
  }

  /** Tick: sessions paused for their budget drain what they queued and, once it is gone, are read again. */
  resumePaused(): void {
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
        if (this.ctx.online.isCurrent(session)) this.out.write(session, keepaliveResponse(session.userId));
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
        if (this.ctx.options.echoRequiresLogin && session.userId === null) return this.notLoggedIn(session, p);
        // QUIRK-10 fix: echo replies are never tracked for retransmission.
        this.out.write(session, { ...p, type: PacketType.ECHO_RESPONSE });
        return;
      default:
        this.ctx.stats.unknownType++;
        return;
    }
  }

  /** Type 1, 2 or 4 before login: error 301 quoting the packet, then close (TCP/WS). */
  private notLoggedIn(session: Session, p: Packet): void {
    this.ctx.stats.notLoggedIn++;
    this.ctx.metrics.refused(session.transport, IMErrors.NOT_LOGGED_IN.id);
    this.out.write(session, errorResponse(ProtocolErrorCode.NOT_LOGGED_IN, encodePacket(p)));
    if (!session.connection.connectionless) this.lifecycle.closeSession(session, 'not-logged-in', IMErrors.NOT_LOGGED_IN.id);
  }

  private takeToken(session: Session, now: number): boolean {
    const limits = this.ctx.options.limits;
    const anonymous = !session.authenticated;
    const packetsPerSecond = anonymous ? limits.anonymousPacketsPerSecond : limits.packetsPerSecond;
    const burst = anonymous ? limits.anonymousBurst : limits.burst;
    session.tokens = refilled(session.tokens, now - session.tokensAt, packetsPerSecond, burst);
    session.tokensAt = now;
    if (session.tokens < 1) return false;
    session.tokens -= 1;
    return true;
  }

  private takeControlToken(session: Session, now: number): boolean {
    const { controlPacketsPerSecond, controlBurst } = this.ctx.options.limits;
    session.controlTokens = refilled(session.controlTokens, now - session.controlTokensAt, controlPacketsPerSecond, controlBurst);
    session.controlTokensAt = now;
    if (session.controlTokens < 1) return false;
    session.controlTokens -= 1;
    return true;
  }

  /** A UDP packet over budget is dropped (the clients retransmit): counted, logged, and the client told at most once a second. */
  private rateLimited(session: Session, now: number): void {
    this.ctx.stats.rateLimited++;
    this.ctx.metrics.rateLimited(session.transport, IMErrors.RATE_LIMITED.id);
    this.ctx.abuse.session(session, IMErrors.RATE_LIMITED.id, session.authenticated ? '' : '(not logged in)');
    // Tell the client at most once a second, so a flood is not answered by a flood.
    if (now - session.limitedNoticeAt >= 1000) {
      session.limitedNoticeAt = now;
      this.out.sendError(session, IMErrors.RATE_LIMITED.wireCode, IMErrors.RATE_LIMITED.message());
    }
  }
}

/** A token bucket's level after `elapsedMs`: refilled at `perSecond`, never above `burst`. */
function refilled(tokens: number, elapsedMs: number, perSecond: number, burst: number): number {
  return Math.min(burst, tokens + (elapsedMs * perSecond) / 1000);
}
