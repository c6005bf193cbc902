import { LinkedQueue, QueueNode } from './linked-queue';
import { Packet } from '../protocol/packet';
import { constantRetransmitPolicy, RetransmitPolicy } from './retransmit-policy';

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
  /** Time of the last write (first or retransmission). */
  writtenAt: number;
  /** Retransmissions done so far. */
  retries: number;
  /** When the next retransmission (or the "lost" verdict) is due. */
  dueAt: number;
  /** When and how often it is retransmitted (by the recipient's transport). */
  readonly policy: RetransmitPolicy;
  /** @internal The timer lane (one per delay) it waits in. */
  lane: LinkedQueue<QoSEntry> | null;
  /** Set once the outcome is decided; the entry is no longer in the table. */
  settled: boolean;
  /** A copy is in the message store (a stored backlog, or written through a durable store): the ACK removes it there. */
  stored?: boolean;
  /** With `stored`: the copy is a held one (`IMMessageStore.hold`), released at the ACK. */
  held?: boolean;
  /** Not ACKed by this session, it goes to the message store (C2C, and pushes with `store: true`). */
  storable?: boolean;
  /** Called once with the outcome (PushService awaits it). */
  readonly onSettle?: (outcome: QoSOutcome, entry: QoSEntry) => void;
}

/** Timings and bounds of the send table. */
export interface SendQoSOptions {
  /** The default policy's delay from a write to its retransmission, and from the last retransmission to "lost". */
  retransmitIntervalMs: number;
  /** The default policy's retransmissions before the packet is declared lost (the reference: 1). */
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
 * The timer is one FIFO lane per delay: every entry in a lane waits the same
 * delay, so each lane is in due order and its due entries are at its front; a
 * retransmitted entry moves to the back of the lane of its next delay, and an
 * ACK unlinks its entry at once. A policy has few distinct delays (a constant
 * one has one), so no scan of the table, no per-packet timer, and settled
 * packets are not retained.
 */
export class SendQoSTable {
  /** recipient → fp → entry: no key string to build per packet. */
  private readonly byRecipient = new Map<string, Map<string, QoSEntry>>();
  private count = 0;
  /** delay → pending entries waiting that delay, in order of `dueAt`. */
  private readonly lanes = new Map<number, LinkedQueue<QoSEntry>>();
  private lostBatch: QoSEntry[] = [];
  /** The policy of entries tracked without one. */
  readonly defaultPolicy: RetransmitPolicy;

  constructor(
    private readonly options: SendQoSOptions,
    private readonly callbacks: SendQoSCallbacks,
  ) {
    this.defaultPolicy = constantRetransmitPolicy(options.retransmitIntervalMs, options.maxRetransmits);
  }

  /** Starts tracking; returns undefined when (to, fp) is already tracked (re-adding is a no-op). */
  track(
    to: string,
    fp: string,
    packet: Packet,
    body: string,
    now: number,
    onSettle?: QoSEntry['onSettle'],
    policy: RetransmitPolicy = this.defaultPolicy,
  ): QoSEntry | undefined {
    let pending = this.byRecipient.get(to);
    if (!pending) this.byRecipient.set(to, (pending = new Map()));
    else if (pending.has(fp)) return undefined;
    const delay = policy.delayMs(0);
    const entry: QoSEntry = {
      to, fp, packet, body, sentAt: now, writtenAt: now, retries: 0, dueAt: now + delay, policy, lane: null, settled: false, onSettle, prev: null, next: null,
    };
    pending.set(fp, entry);
    this.count++;
    this.enqueue(entry, delay);
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

  /**
   * Stops tracking every packet for `to` (its session ended) without settling
   * them, and returns them in the order they were first written: the caller
   * stores them or reports them lost.
   */
  takeRecipient(to: string): QoSEntry[] {
    const pending = this.byRecipient.get(to);
    if (!pending) return [];
    const entries = [...pending.values()];
    for (const entry of entries) {
      this.forget(entry);
      entry.settled = true;
    }
    return entries;
  }

  /** Retransmits the due entries and reports the lost ones in one batch. */
  tick(now: number): void {
    for (const lane of this.lanes.values()) {
      for (let entry = lane.first; entry && entry.dueAt <= now; entry = lane.first) {
        const policy = entry.policy;
        // Against the scheduled time, not `now`: a late tick must not turn a retransmission into a verdict.
        if (entry.retries >= policy.maxRetransmits || entry.dueAt - entry.sentAt > policy.lifetimeMs) {
          this.forget(entry);
          this.declareLost(entry);
          continue;
        }
        entry.retries++;
        entry.writtenAt = now;
        const delay = policy.delayMs(entry.retries);
        entry.dueAt = now + delay;
        lane.remove(entry);
        this.enqueue(entry, delay);
        this.callbacks.retransmit(entry);
      }
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

  /** Users with packets awaiting their ACK. */
  recipients(): IterableIterator<string> {
    return this.byRecipient.keys();
  }

  /** Drops everything without reporting (shutdown). */
  clear(): void {
    this.byRecipient.clear();
    this.count = 0;
    for (const lane of this.lanes.values()) lane.clear();
  }

  /**
   * Stops tracking every pending entry and returns them, with any lost ones not
   * yet reported (graceful shutdown): as `takeRecipient`, the caller stores them or reports them lost.
   */
  takeAll(): QoSEntry[] {
    const all: QoSEntry[] = this.lostBatch;
    this.lostBatch = [];
    for (const lane of this.lanes.values()) {
      for (let entry = lane.first; entry; entry = lane.first) {
        this.forget(entry);
        entry.settled = true;
        all.push(entry);
      }
    }
    return all;
  }

  private enqueue(entry: QoSEntry, delay: number): void {
    let lane = this.lanes.get(delay);
    if (!lane) this.lanes.set(delay, (lane = new LinkedQueue<QoSEntry>()));
    entry.lane = lane;
    lane.push(entry);
  }

  private declareLost(entry: QoSEntry): void {
    entry.settled = true;
    entry.onSettle?.('lost', entry);
    this.lostBatch.push(entry);
  }

  /** Past `maxPending`: the entry nearest its verdict (the oldest, with one policy) is declared lost early. */
  private evictOldest(): void {
    let oldest: QoSEntry | null = null;
    for (const lane of this.lanes.values()) {
      const first = lane.first;
      if (first && (!oldest || first.dueAt < oldest.dueAt)) oldest = first;
    }
    if (!oldest) return;
    this.forget(oldest);
    this.declareLost(oldest);
  }

  private forget(entry: QoSEntry): void {
    const pending = this.byRecipient.get(entry.to);
    if (pending?.delete(entry.fp)) {
      this.count--;
      if (pending.size === 0) this.byRecipient.delete(entry.to);
    }
    entry.lane?.remove(entry);
    entry.lane = null;
  }
}
