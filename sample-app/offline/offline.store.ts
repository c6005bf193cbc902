import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, DEFAULT_OFFLINE_LIMITS } from '../app.config';

/** A C2C message kept for a recipient who was offline. */
export interface StoredMessage {
  from: string;
  to: string;
  dataContent: string;
  typeu: number;
  fp?: string;
  storedAt: number;
}

/**
 * Bounded in-memory store of messages for offline users. A real deployment
 * would use a database; the bounds keep one chatty sender from exhausting memory.
 * When full, `add` refuses instead of evicting: the sender then gets no ACK
 * and its SDK reports the message lost, which is the honest outcome.
 */
@Injectable()
export class OfflineStore {
  private readonly logger = new Logger(OfflineStore.name);
  private readonly byUser = new Map<string, StoredMessage[]>();
  private total = 0;
  private readonly perUser: number;
  private readonly maxTotal: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    ({ perUser: this.perUser, total: this.maxTotal } = config.offline ?? DEFAULT_OFFLINE_LIMITS);
  }

  /** Stores a message; false if a bound is reached. */
  add(msg: StoredMessage): boolean {
    const queue = this.byUser.get(msg.to) ?? [];
    // The sender retransmits when our ACK was lost; one copy is enough.
    if (msg.fp !== undefined && queue.some((m) => m.fp === msg.fp && m.from === msg.from)) return true;
    if (queue.length >= this.perUser || this.total >= this.maxTotal) return false;
    queue.push(msg);
    this.byUser.set(msg.to, queue);
    this.total++;
    return true;
  }

  /** Removes and returns every message for `userId`, oldest first. */
  take(userId: string): StoredMessage[] {
    const queue = this.byUser.get(userId) ?? [];
    this.byUser.delete(userId);
    this.total -= queue.length;
    return queue;
  }

  /**
   * Puts back messages whose delivery failed, ahead of anything stored since.
   * Bounds still apply: the oldest overflow is dropped (and logged).
   */
  restore(userId: string, messages: StoredMessage[]): void {
    if (messages.length === 0) return;
    const queue = [...messages, ...this.take(userId)];
    const room = Math.max(0, Math.min(this.perUser, this.maxTotal - this.total));
    const dropped = queue.length - room;
    if (dropped > 0) this.logger.warn(`offline store full: dropped ${dropped} message(s) for ${userId}`);
    const kept = queue.slice(Math.max(0, dropped));
    if (kept.length) this.byUser.set(userId, kept);
    this.total += kept.length;
  }

  count(userId?: string): number {
    return userId === undefined ? this.total : this.byUser.get(userId)?.length ?? 0;
  }
}
