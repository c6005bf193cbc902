import { IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { QoSEntry } from '../qos/send-qos-table';
import { AppendResult, IMMessageStore, StoreRefusalReason } from '../store/message-store';
import type { CoreContext } from './core-context';
import type { DeliveryStatus } from './delivery-result';
import { logText } from './log-text';

/**
 * The core's side of the message store and the end of the QoS road: appends,
 * holds and removals (each tracked, so shutdown waits for them; refusals
 * counted and logged once per interval), and the hand-over of packets given up
 * on (their session ended, they ran out of retransmissions, the node shuts
 * down) to the store for the recipient's next login, or to `@OnMessagesLost`
 * and the `lost` events when there is no store or it refuses. A push waiting
 * for the store's answer registers its settle function here.
 */
export class StorePath {
  /** Store operations under way: shutdown waits for them before the store closes. */
  private readonly ops = new Set<Promise<unknown>>();
  /** How to settle a stored-capable push once the store answered ('stored' or 'lost'). */
  private readonly storedSettle = new WeakMap<QoSEntry, (status: DeliveryStatus) => void>();

  constructor(private readonly ctx: CoreContext) {}

  /**
   * Packets given up on (their session ended, or they ran out of
   * retransmissions): into the message store for the user's next login, or
   * reported lost (`@OnMessagesLost`, `lost` events) when there is none or it
   * refuses. A packet already kept in the store stays there.
   */
  undelivered(entries: readonly QoSEntry[], reason: string): void {
    const lost: QoSEntry[] = [];
    const store = this.ctx.store;
    const keep = store !== null && !(this.ctx.shuttingDown && !store.durable);
    for (const e of entries) {
      if (keep && e.stored && e.held) {
        // A held copy: into the user's queue now, then the copy goes.
        this.append(e.to, e.packet, 'undelivered').then((r) => {
          this.remove(e.to, e.fp, true);
          if (!r.ok) this.reportLost([e], reason);
        });
      } else if (keep && e.stored) {
        // Already kept (written through, or a redelivered backlog): it waits there for the next login.
        this.announceStored(e.to, e.packet, 'undelivered');
        this.storedSettle.get(e)?.('stored');
      } else if (keep && e.storable) {
        this.append(e.to, e.packet, 'undelivered').then((r) => {
          if (r.ok) this.storedSettle.get(e)?.('stored');
          else this.reportLost([e], reason);
        });
      } else {
        lost.push(e);
      }
    }
    if (lost.length > 0) this.reportLost(lost, reason);
  }

  /** A push that may end in the store: `settle` gets 'stored' or 'lost' once the store answered. */
  settleWhenStored(entry: QoSEntry, settle: (status: DeliveryStatus) => void): void {
    this.storedSettle.set(entry, settle);
  }

  /**
   * Appends to the store, counting and reporting what it refuses (logged once
   * per interval). `why`: `through` is a write-through of a message being
   * delivered live (no `stored` event: it is not waiting for a login).
   */
  append(userId: string, packet: Packet, why: 'offline' | 'undelivered' | 'through'): Promise<AppendResult> {
    return this.track((this.ctx.store as IMMessageStore).append(userId, packet)).then((r) => {
      if (!r.ok) this.countRefusal(userId, packet, why, r);
      else if (why !== 'through' && !r.duplicate) this.announceStored(userId, packet, why);
      return r;
    });
  }

  /** Tracks a store operation for shutdown; never rejects (a failure is an `unavailable` refusal). */
  track(op: Promise<AppendResult>): Promise<AppendResult> {
    const safe = op.catch((): AppendResult => ({ ok: false, reason: 'unavailable' }));
    this.trackOp(safe);
    return safe;
  }

  countRefusal(userId: string, packet: Packet, why: string, r: { reason: StoreRefusalReason }): void {
    this.ctx.stats.storeRefused++;
    this.ctx.abuse.process(IMErrors.STORE_REFUSED.id, `message ${logText(packet.fp)} for ${logText(userId)} refused (${why}): ${r.reason}`);
    if (this.ctx.events.observed) this.ctx.events.next({ type: 'store-refused', userId, fp: packet.fp as string, reason: r.reason, packet });
  }

  announceStored(userId: string, packet: Packet, reason: 'offline' | 'undelivered'): void {
    this.ctx.stats.stored++;
    if (this.ctx.events.observed) this.ctx.events.next({ type: 'stored', userId, fp: packet.fp as string, reason, packet });
  }

  /** Takes a message out of the store (a held copy is released); a failure leaves it for a harmless redelivery. */
  remove(userId: string, fp: string, held = false): void {
    const store = this.ctx.store as IMMessageStore;
    const removed = held && store.release ? store.release(userId, fp) : store.remove(userId, fp);
    const op = removed.catch((err) => {
      // Left in the store: delivered again at the next login, and the client drops the duplicate by fp.
      this.ctx.abuse.process(IMErrors.STORE_REFUSED.id, `could not remove ${logText(fp)} for ${logText(userId)}: ${(err as Error)?.message}`);
    });
    this.trackOp(op);
  }

  /** Counts `op` among the operations shutdown waits for. */
  trackOp(op: Promise<unknown>): void {
    this.ops.add(op);
    const done = () => this.ops.delete(op);
    op.then(done, done);
  }

  /** Settles once every store operation under way now has. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.ops]);
  }

  /** Waits for the operations under way (shutdown: after the sessions closed), then closes a store the core made. */
  async close(): Promise<void> {
    await this.settled();
    if (this.ctx.ownsStore) await this.ctx.store?.close();
  }

  private reportLost(entries: readonly QoSEntry[], reason: string): void {
    const { ctx } = this;
    ctx.logger.debug(`${entries.length} QoS packet(s) lost: ${reason}`);
    for (const e of entries) {
      // Entries taken from a closed session were never settled by the table.
      e.onSettle?.('lost', e);
      this.storedSettle.get(e)?.('lost');
    }
    ctx.stats.lost += entries.length;
    ctx.metrics.qosLost(entries.length);
    if (ctx.events.observed) {
      for (const e of entries) ctx.events.next({ type: 'lost', userId: e.to, fp: e.fp, packet: e.packet });
    }
    if (ctx.hooks.messagesLost) ctx.fireAndForget(ctx.hooks.messagesLost(entries.map((e) => e.packet)));
  }
}
