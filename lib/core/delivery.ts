import { IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { PacketType } from '../protocol/packet-type';
import { QoSEntry } from '../qos/send-qos-table';
import { IMMessageStore } from '../store/message-store';
import type { CoreContext } from './core-context';
import type { Outbound } from './outbound';
import type { Session } from './session';
import { sessionLog } from './session-log';
import type { StorePath } from './store-path';

/**
 * QoS on the recipient's side (PROTOCOL.md §10.4): a routed packet is written
 * to its recipient and tracked in the send table until that recipient ACKs it;
 * the table's policy retransmits it, and gives it up to the store path. At
 * login, the user's stored backlog is written the same way, oldest first,
 * with newer live packets held behind it.
 */
export class Delivery {
  constructor(
    private readonly ctx: CoreContext,
    private readonly out: Outbound,
    private readonly storePath: StorePath,
  ) {}

  /**
   * Writes a relayed packet, tracking it first when it needs QoS. False on a
   * failed send. Always re-encoded, never relayed as received: with duplicate
   * keys JSON.parse keeps the last value, so the checked `from` could differ
   * from what a first-wins client parser reads in the original text.
   * `kept`: a copy is in the store already (written through).
   */
  forward(target: Session, p: Packet, kept = false): QoSEntry | boolean {
    const { ctx, out } = this;
    const body = out.encode(p);
    if (!out.fits(body, target)) return false;
    const entry = p.QoS ? ctx.sendQoS.track(p.to as string, p.fp as string, p, body, ctx.now(), undefined, ctx.policies[target.transport]) : undefined;
    if (entry) {
      entry.storable = ctx.store !== null;
      entry.stored = kept;
    }
    ctx.metrics.packetOut(target.transport, PacketType.DATA);
    if (out.writeTo(target, body)) return entry ?? true;
    if (entry) ctx.sendQoS.untrack(entry);
    return false;
  }

  /** §10.4: the recipient's ACK settles only packets addressed to that recipient (QUIRK-6 fix). */
  ack(session: Session, p: Packet): void {
    const { ctx } = this;
    const fp = p.dataContent;
    if (fp === undefined || fp.length > ctx.options.limits.maxFingerprintLength) return;
    const userId = session.userId as string;
    const entry = ctx.sendQoS.settle(userId, fp);
    if (!entry) return;
    ctx.stats.delivered++;
    if (entry.stored) this.storePath.remove(userId, fp, entry.held === true);
    const now = ctx.now();
    ctx.metrics.qosDelivered(now - entry.writtenAt, now - entry.sentAt);
    if (ctx.events.observed) ctx.events.next({ type: 'delivered', userId, fp, packet: entry.packet });
    ctx.fireAndForget(ctx.hooks.messageDelivered?.(fp, userId, entry.packet, session));
  }

  /** The send table's policy says it is time to write `entry` again. */
  retransmit(entry: QoSEntry): void {
    const { ctx } = this;
    ctx.stats.retransmits++;
    ctx.metrics.qosRetransmitted();
    const target = ctx.online.get(entry.to);
    // Held behind the stored backlog: it is written when the backlog is.
    if (!target || target.held) return;
    ctx.metrics.packetOut(target.transport, PacketType.DATA);
    if (ctx.options.serverTimestamp) entry.body = this.out.encode(entry.packet);
    this.out.send(target, entry.body);
  }

  /**
   * At login: writes the user's stored messages, oldest first, with QoS, and
   * holds newer live packets for the user until they are written (per-recipient
   * order). Each leaves the store only on this client's ACK.
   */
  deliverBacklog(session: Session, userId: string): void {
    session.held = [];
    const done = this.writeBacklog(session, userId)
      .catch((err) => this.ctx.logger.error(sessionLog(session, `stored messages not delivered: ${(err as Error)?.message}`, IMErrors.STORE_REFUSED.id)))
      .then(() => {
        const held = session.held;
        session.held = null;
        if (held && !session.closed) for (const body of held) session.connection.write(body);
      });
    this.storePath.trackOp(done);
  }

  private async writeBacklog(session: Session, userId: string): Promise<void> {
    const store = this.ctx.store as IMMessageStore;
    const { readBatch, maxPerUser } = this.ctx.options.storeLimits;
    // What a crash (or another node's session) left held goes into the queue first.
    await store.recover?.(userId);
    let after: string | undefined;
    // Bounded: a user has at most maxPerUser messages, plus what arrives while we read.
    for (let round = 0; round <= Math.ceil(maxPerUser / readBatch) + 1; round++) {
      const batch = await store.read(userId, readBatch, after);
      if (session.closed || session.userId !== userId) return;
      for (const m of batch) this.redeliver(session, userId, m.packet, m.storedAt);
      if (batch.length < readBatch) return;
      after = batch[batch.length - 1].id;
    }
  }

  private redeliver(session: Session, userId: string, packet: Packet, storedAt: number): void {
    const { ctx, out } = this;
    const body = out.encode(packet);
    // Too large for this transport: it waits for a login on one that takes it.
    if (!out.fits(body, session)) return;
    const entry = ctx.sendQoS.track(userId, packet.fp as string, packet, body, ctx.now());
    if (!entry) return;
    entry.stored = true;
    entry.storable = true;
    ctx.stats.storeRedelivered++;
    ctx.metrics.packetOut(session.transport, PacketType.DATA);
    session.connection.write(body);
    if (ctx.events.observed) ctx.events.next({ type: 'redelivered', userId, fp: entry.fp, storedAt, packet });
  }
}
