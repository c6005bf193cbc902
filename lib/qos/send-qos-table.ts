import { LinkedQueue, QueueNode } from './linked-queue';
import { Packet } from '../protocol/packet';

/** Final outcome of a tracked packet. */
export type QoSOutcome = 'delivered' | 'lost';

/** One packet waiting for its recipient's ACK. */
export interface QoSEntry extends QueueNode {
  /** Recipient user id. */
  readonly to: string;
  readonly fp: string;
  readonly packet: Packet;
  /** Encoded form, reused for retransmission unless server timestamps are on. */
  body: string;
  /** Time of the first write. */
  readonly sentAt: number;
  /** Retransmissions done so far. */
  retries: number;
  /** When the next retransmission (or the "lost" verdict) is due. */
  dueAt: number;
  /** Set once the outcome is decided; the entry is no longer in the table. */
  settled: boolean;
  /** Called once with the outcome (PushService awaits it). */
  readonly onSettle?: (outcome: QoSOutcome, entry: QoSEntry) => void;
}

/** Timings and bounds of the send table. */
export interface SendQoSOptions {
  /** Delay from a write to its retransmission, and from the last retransmission to "lost". */
  retransmitIntervalMs: number;
  /** Retransmissions before the packet is declared lost (the reference: 1). */
  maxRetransmits: number;
  /** Cap on tracked packets; past it the oldest is declared lost early. */
  maxPending: number;
}

/** What the table asks of its owner when a timer fires. */
export interface SendQoSCallbacks {
  retransmit(entry: QoSEntry): void;
  lost(entries: QoSEntry[]): void;
}

/**
 * Server send QoS (PROTOCOL.md §10.4) keyed by (recipient, fp) (QUIRK-7 fix).
 * Entries are tracked before the write, so an ACK that comes back fast always
 * finds them (the reference tracks after the write and loses that race).
 *
 * Every entry waits the same interval, so a queue in order of due time is the
 * timer: the due entries are always at its front, a retransmitted entry moves
 * to the back, and an ACK unlinks its entry at once. No scan of the table, no
 * per-packet timer, and settled packets are not retained.
 */
export class SendQoSTable {
  /** recipient → fp → entry: no key string to build per packet. */
  private readonly byRecipient = new Map<string, Map<string, QoSEntry>>();
  private count = 0;
  /** Pending entries in order of `dueAt`. */
  private readonly queue = new LinkedQueue<QoSEntry>();
  private lostBatch: QoSEntry[] = [];

  constructor(
    private readonly options: SendQoSOptions,
    private readonly callbacks: SendQoSCallbacks,
  ) {}

  /** Starts tracking; returns undefined when (to, fp) is already tracked (re-adding is a no-op). */
  track(
    to: string,
    fp: string,
    packet: Packet,
    body: string,
    now: number,
    onSettle?: QoSEntry['onSettle'],
  ): QoSEntry | undefined {
    let pending = this.byRecipient.get(to);
    if (!pending) this.byRecipient.set(to, (pending = new Map()));
    else if (pending.has(fp)) return undefined;
    const dueAt = now + this.options.retransmitIntervalMs;
    const entry: QoSEntry = { to, fp, packet, body, sentAt: now, retries: 0, dueAt, settled: false, onSettle, prev: null, next: null };
    pending.set(fp, entry);
    this.count++;
    this.queue.push(entry);
    if (this.count > this.options.maxPending) this.evictOldest();
    return entry;
  }

  /** Forgets an entry whose first write failed; its outcome is reported by the caller. */
  untrack(entry: QoSEntry): void {
    if (entry.settled) return;
    entry.settled = true;
    this.forget(entry);
  }

  /** Settles (recipient, fp) on the recipient's ACK; returns the entry, or undefined if unknown. */
  settle(recipient: string, fp: string): QoSEntry | undefined {
    const entry = this.byRecipient.get(recipient)?.get(fp);
    if (!entry) return undefined;
    this.forget(entry);
    entry.settled = true;
    entry.onSettle?.('delivered', entry);
    return entry;
  }

  /** Retransmits the due entries and reports the lost ones in one batch. */
  tick(now: number): void {
    for (let entry = this.queue.first; entry && entry.dueAt <= now; entry = this.queue.first) {
      if (entry.retries >= this.options.maxRetransmits) {
        this.forget(entry);
        this.declareLost(entry);
        continue;
      }
      entry.retries++;
      entry.dueAt = now + this.options.retransmitIntervalMs;
      this.queue.touch(entry);
      this.callbacks.retransmit(entry);
    }
    if (this.lostBatch.length > 0) {
      const lost = this.lostBatch;
      this.lostBatch = [];
      this.callbacks.lost(lost);
    }
  }

  get size(): number {
    return this.count;
  }

  /** Settles every packet pending for `recipient` as lost and returns them (its session is gone for good). */
  takeRecipient(recipient: string): QoSEntry[] {
    const pending = this.byRecipient.get(recipient);
    if (!pending) return [];
    const entries = [...pending.values()];
    for (const entry of entries) {
      this.forget(entry);
      entry.settled = true;
      entry.onSettle?.('lost', entry);
    }
    return entries;
  }

  /** Drops everything without reporting (shutdown). */
  clear(): void {
    this.byRecipient.clear();
    this.count = 0;
    this.queue.clear();
  }

  /** Reports every pending entry lost now (graceful shutdown). */
  failAll(): void {
    for (let entry = this.queue.first; entry; entry = this.queue.first) {
      this.forget(entry);
      this.declareLost(entry);
    }
    this.tick(0);
  }

  private declareLost(entry: QoSEntry): void {
    entry.settled = true;
    entry.onSettle?.('lost', entry);
    this.lostBatch.push(entry);
  }

  private evictOldest(): void {
    const oldest = this.queue.first as QoSEntry;
    this.forget(oldest);
    this.declareLost(oldest);
  }

  private forget(entry: QoSEntry): void {
    const pending = this.byRecipient.get(entry.to);
    if (pending?.delete(entry.fp)) {
      this.count--;
      if (pending.size === 0) this.byRecipient.delete(entry.to);
    }
    this.queue.remove(entry);
  }
}
