import { TimerWheel } from '../core/timer-wheel';
import { qosKey } from './qos-key';
import { Packet } from '../protocol/packet';

/** Final outcome of a tracked packet. */
export type QoSOutcome = 'delivered' | 'lost';

/** One packet waiting for its recipient's ACK. */
export interface QoSEntry {
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
  /** Settled entries are ignored when their timer fires. */
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
 * finds them (the reference tracks after the write and loses that race), and
 * scheduled on a timer wheel instead of a scan of the whole table.
 */
export class SendQoSTable {
  private readonly entries = new Map<string, QoSEntry>();
  private readonly wheel: TimerWheel<QoSEntry>;
  private lostBatch: QoSEntry[] = [];

  constructor(
    private readonly options: SendQoSOptions,
    private readonly callbacks: SendQoSCallbacks,
    now: number,
    resolutionMs = 100,
  ) {
    this.wheel = new TimerWheel<QoSEntry>(resolutionMs, now, (e, t) => this.due(e, t));
  }

  /** Starts tracking; returns undefined when (to, fp) is already tracked (re-adding is a no-op). */
  track(
    to: string,
    fp: string,
    packet: Packet,
    body: string,
    now: number,
    onSettle?: QoSEntry['onSettle'],
  ): QoSEntry | undefined {
    const key = qosKey(to, fp);
    if (this.entries.has(key)) return undefined;
    const entry: QoSEntry = { to, fp, packet, body, sentAt: now, retries: 0, settled: false, onSettle };
    this.entries.set(key, entry);
    this.wheel.schedule(entry, now + this.options.retransmitIntervalMs);
    if (this.entries.size > this.options.maxPending) this.evictOldest();
    return entry;
  }

  /** Forgets an entry whose first write failed; its outcome is reported by the caller. */
  untrack(entry: QoSEntry): void {
    if (entry.settled) return;
    entry.settled = true;
    this.entries.delete(qosKey(entry.to, entry.fp));
  }

  /** Settles (recipient, fp) on the recipient's ACK; returns the entry, or undefined if unknown. */
  settle(recipient: string, fp: string): QoSEntry | undefined {
    const key = qosKey(recipient, fp);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    entry.settled = true;
    entry.onSettle?.('delivered', entry);
    return entry;
  }

  /** Advances timers: retransmits due entries and reports the lost ones in one batch. */
  tick(now: number): void {
    this.wheel.advance(now);
    if (this.lostBatch.length > 0) {
      const lost = this.lostBatch;
      this.lostBatch = [];
      this.callbacks.lost(lost);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops everything without reporting (shutdown). */
  clear(): void {
    this.entries.clear();
    this.wheel.clear();
  }

  /** Reports every pending entry lost now (graceful shutdown). */
  failAll(): void {
    for (const entry of this.entries.values()) this.declareLost(entry);
    this.entries.clear();
    this.wheel.clear();
    this.tick(0);
  }

  private due(entry: QoSEntry, now: number): void {
    if (entry.settled) return;
    if (entry.retries >= this.options.maxRetransmits) {
      this.entries.delete(qosKey(entry.to, entry.fp));
      this.declareLost(entry);
      return;
    }
    entry.retries++;
    this.callbacks.retransmit(entry);
    this.wheel.schedule(entry, now + this.options.retransmitIntervalMs);
  }

  private declareLost(entry: QoSEntry): void {
    entry.settled = true;
    entry.onSettle?.('lost', entry);
    this.lostBatch.push(entry);
  }

  private evictOldest(): void {
    const first = this.entries.entries().next().value as [string, QoSEntry];
    this.entries.delete(first[0]);
    this.declareLost(first[1]);
  }
}
