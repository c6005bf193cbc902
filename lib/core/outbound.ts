import { IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { encodePacket } from '../protocol/packet-codec';
import { NO_USER_ID, PacketType } from '../protocol/packet-type';
import { errorResponse } from '../protocol/payloads';
import { ProtocolErrorCode } from '../protocol/protocol-codes';
import type { CoreContext } from './core-context';
import type { Session } from './session';
import type { SessionLifecycle } from './session-lifecycle';
import type { StorePath } from './store-path';

/**
 * Everything the core writes goes through here: encoding (with the server
 * timestamp when asked), the size check against the recipient's transport
 * (QUIRK-17), the UDP no-amplification cap for peers that have not logged in,
 * holding live packets behind a stored backlog being written, and the
 * slow-consumer rule: a write refused because the peer does not read closes
 * that session and hands its user's unACKed packets over at once.
 */
export class Outbound {
  private readonly udpReplyRatio: number;

  constructor(
    private readonly ctx: CoreContext,
    private readonly lifecycle: SessionLifecycle,
    private readonly storePath: StorePath,
  ) {
    this.udpReplyRatio = ctx.options.udp ? ctx.options.udp.maxReplyRatio : 1;
  }

  /** Encodes and writes a packet the core answers with (counted per type); see {@link writeShortReply}. */
  write(session: Session, p: Packet): boolean {
    this.ctx.metrics.packetOut(session.transport, p.type);
    const body = this.encode(p);
    // No amplification: a peer that has not logged in over UDP (its source address may be
    // spoofed) never gets a reply larger than the datagram it sent.
    if (!session.authenticated && session.connection.connectionless && Buffer.byteLength(body) > this.replyBudget(session)) {
      return this.writeShortReply(session, p);
    }
    return this.send(session, body);
  }

  /** `fp`: the data packet the error answers, so a client can tell which message failed (QoS stays off: never ACKed). */
  sendError(session: Session, code: number, message: string, fp?: string): void {
    const error = errorResponse(code, message, session.userId ?? NO_USER_ID);
    if (fp !== undefined) error.fp = fp;
    this.write(session, error);
  }

  /** Writes `body` to `session`; a refused write to a peer that does not read closes it as a slow consumer. */
  send(session: Session, body: string): boolean {
    if (session.connection.write(body)) return true;
    if (!session.closed && session.connection.congested) this.slowConsumer(session);
    return false;
  }

  /** Writes to a recipient, or queues behind its stored backlog while that is being written (per-recipient order). */
  writeTo(target: Session, body: string): boolean {
    if (target.held) {
      target.held.push(body);
      return true;
    }
    return this.send(target, body);
  }

  encode(p: Packet): string {
    return encodePacket(this.ctx.options.serverTimestamp ? { ...p, sm: this.ctx.now() } : p);
  }

  /** QUIRK-17 fix: never write a routed packet the recipient's SDK would reject. */
  fits(body: string, target: Session): boolean {
    const max = target.connection.maxOutboundBytes;
    if (body.length * 3 <= max || Buffer.byteLength(body) <= max) return true;
    this.ctx.stats.outboundTooLarge++;
    this.ctx.metrics.refused(target.transport, IMErrors.OUTBOUND_TOO_LARGE.id);
    return false;
  }

  /**
   * Closes a session whose peer does not read. Other sessions are not held up
   * behind it; its user's unACKed packets are handed over at once rather than
   * retransmitted into a dead buffer.
   */
  private slowConsumer(session: Session): void {
    const { ctx } = this;
    ctx.stats.slowConsumers++;
    ctx.metrics.refused(session.transport, IMErrors.SLOW_CONSUMER.id);
    ctx.abuse.session(session, IMErrors.SLOW_CONSUMER.id, 'closing');
    const userId = session.userId;
    this.lifecycle.closeSession(session, 'slow-consumer', IMErrors.SLOW_CONSUMER.id);
    if (userId !== null && !ctx.online.get(userId)) this.storePath.undelivered(ctx.sendQoS.takeRecipient(userId), 'slow-consumer');
  }

  /** A 301 may drop its quoted packet to fit the datagram it answers; anything else is not sent. */
  private writeShortReply(session: Session, p: Packet): boolean {
    if (p.type === PacketType.ERROR && p.dataContent?.startsWith('{"errorCode":301,')) {
      const short = this.encode(errorResponse(ProtocolErrorCode.NOT_LOGGED_IN, '', p.to));
      if (Buffer.byteLength(short) <= this.replyBudget(session)) return session.connection.write(short);
    }
    this.ctx.stats.repliesSuppressed++;
    this.ctx.metrics.refused(session.transport, IMErrors.REPLY_SUPPRESSED.id);
    return false;
  }

  /** Bytes a reply to an unauthenticated UDP peer may have (`udp.maxReplyRatio` × its datagram). */
  private replyBudget(session: Session): number {
    return session.lastInboundBytes * this.udpReplyRatio;
  }
}
