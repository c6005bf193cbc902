import { Packet } from '../protocol/packet';
import { encodePacket } from '../protocol/packet-codec';
import { AppendResult, IMMessageStore, MessageStoreLimits, StoredMessage } from './message-store';

interface Entry {
  readonly seq: number;
  readonly packet: Packet;
  readonly storedAt: number;
}

/**
 * The default store: a Map per user, kept in insertion (append) order, bounded
 * per user and in total, entries dropped `ttlMs` after they were stored.
 * Lost with the process (`durable: false`).
 */
export class MemoryMessageStore implements IMMessageStore {
  readonly durable = false;
  /** user → fp → entry; a Map iterates in insertion order, which is the delivery order. */
  private readonly byUser = new Map<string, Map<string, Entry>>();
  private total = 0;
  private seq = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly limits: MessageStoreLimits,
    private readonly now: () => number = Date.now,
  ) {
    // Users who never come back would otherwise keep their expired messages until the total bound bites.
    this.sweeper = setInterval(() => this.sweep(), Math.min(limits.ttlMs, 60_000));
    this.sweeper.unref();
  }

  /** Messages held for every user (expired ones until they are next looked at). */
  get size(): number {
    return this.total;
  }

  append(userId: string, packet: Packet): Promise<AppendResult> {
    const fp = packet.fp;
    if (fp === undefined) return Promise.resolve({ ok: false, reason: 'too-large' } as const);
    const now = this.now();
    let queue = this.byUser.get(userId);
    if (queue?.has(fp)) return Promise.resolve({ ok: true, duplicate: true } as const);
    if (Buffer.byteLength(encodePacket(packet)) > this.limits.maxMessageBytes) return Promise.resolve({ ok: false, reason: 'too-large' } as const);
    if (queue) this.expire(userId, queue, now);
    if ((queue?.size ?? 0) >= this.limits.maxPerUser) return Promise.resolve({ ok: false, reason: 'user-full' } as const);
    if (this.total >= this.limits.maxTotal) return Promise.resolve({ ok: false, reason: 'store-full' } as const);
    if (!queue) this.byUser.set(userId, (queue = new Map()));
    // A copy: the caller's packet may be changed later (server timestamps).
    queue.set(fp, { seq: ++this.seq, packet: { ...packet }, storedAt: now });
    this.total++;
    return Promise.resolve({ ok: true, duplicate: false } as const);
  }

  read(userId: string, limit: number, afterId?: string): Promise<StoredMessage[]> {
    const queue = this.byUser.get(userId);
    if (!queue) return Promise.resolve([]);
    this.expire(userId, queue, this.now());
    const after = afterId === undefined ? 0 : Number(afterId);
    const out: StoredMessage[] = [];
    for (const e of queue.values()) {
      if (out.length >= limit) break;
      if (e.seq > after) out.push({ id: String(e.seq), packet: { ...e.packet }, storedAt: e.storedAt });
    }
    return Promise.resolve(out);
  }

  remove(userId: string, fp: string): Promise<boolean> {
    const queue = this.byUser.get(userId);
    if (!queue?.delete(fp)) return Promise.resolve(false);
    this.total--;
    if (queue.size === 0) this.byUser.delete(userId);
    return Promise.resolve(true);
  }

  count(userId: string): Promise<number> {
    const queue = this.byUser.get(userId);
    if (!queue) return Promise.resolve(0);
    this.expire(userId, queue, this.now());
    return Promise.resolve(queue.size);
  }

  /** Drops every expired message now (also run every min(ttlMs, 60 s)). */
  sweep(): void {
    const now = this.now();
    for (const [userId, queue] of this.byUser) this.expire(userId, queue, now);
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.byUser.clear();
    this.total = 0;
    return Promise.resolve();
  }

  /** Drops the user's expired messages: they are the oldest, so at the front. */
  private expire(userId: string, queue: Map<string, Entry>, now: number): void {
    for (const [fp, e] of queue) {
      if (now - e.storedAt < this.limits.ttlMs) break;
      queue.delete(fp);
      this.total--;
    }
    if (queue.size === 0) this.byUser.delete(userId);
  }
}
