import { unrefTimer } from './timers';

/**
 * Final state of a packet sent with QoS: `delivered` (ACKed), `lost` (no ACK after
 * the resends), `refused` (the server refused it: a guard, a handler or a limit; the
 * `error` event for its `fp` has the code) or `undeliverable` (the recipient is
 * offline and nothing stored it: error 404).
 */
export type QoSOutcome = 'delivered' | 'lost' | 'refused' | 'undeliverable';

/** Client-side retransmission timing (PROTOCOL.md §10.6); the defaults are the SDKs'. */
export interface QoSTimings {
  /** How often pending packets are checked. Default 5000 ms. */
  checkIntervalMs: number;
  /** A packet this young (ms since first sent) or younger is not resent yet. Default 3000 ms. */
  graceMs: number;
  /** Resends before the packet is reported lost (on the following check). Default 2. */
  maxResends: number;
}

/** The SDK defaults: check every 5 s, 3 s grace, 2 resends. */
export const DEFAULT_QOS_TIMINGS: QoSTimings = { checkIntervalMs: 5000, graceMs: 3000, maxResends: 2 };

interface Pending {
  body: string;
  sentAt: number;
  resends: number;
  settle: (outcome: QoSOutcome) => void;
  promise: Promise<QoSOutcome>;
}

/**
 * A client's outbox of packets sent with QoS (not the server's `SendQoSTable`,
 * which tracks what the server sends, per recipient, on one timer queue).
 * Tracks packets by fingerprint until an ACK (type 4) settles
 * them or the resends run out, like the SDKs' QoS send daemon. The check
 * timer only runs while something is pending, so an idle client holds no timer;
 * started with the first packet, it resends at about 5 s and 10 s and reports
 * "lost" at about 15 s, as measured with the reference (PROTOCOL.md §16).
 */
export class QoSOutbox {
  private readonly pending = new Map<string, Pending>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /** `resend` writes the unchanged body again; it may throw when the link is down. */
  constructor(
    private readonly timings: QoSTimings,
    private readonly resend: (body: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Number of packets awaiting an ACK. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Starts tracking a packet just sent. Tracking an fp that is already pending
   * returns the existing outcome, since one ACK settles both sends.
   */
  track(fp: string, body: string): Promise<QoSOutcome> {
    const existing = this.pending.get(fp);
    if (existing) return existing.promise;
    let settle!: (outcome: QoSOutcome) => void;
    const promise = new Promise<QoSOutcome>((resolve) => (settle = resolve));
    this.pending.set(fp, { body, sentAt: this.now(), resends: 0, settle, promise });
    this.timer ??= unrefTimer(setInterval(() => this.check(), this.timings.checkIntervalMs));
    return promise;
  }

  /** An ACK for `fp` arrived; returns false when nothing was pending under it. */
  acknowledge(fp: string): boolean {
    const entry = this.pending.get(fp);
    if (!entry) return false;
    this.remove(fp);
    entry.settle('delivered');
    return true;
  }

  /** The server answered `fp` with an error: it is settled with `outcome` now, not resent. */
  fail(fp: string, outcome: 'refused' | 'undeliverable'): boolean {
    const entry = this.pending.get(fp);
    if (!entry) return false;
    this.remove(fp);
    entry.settle(outcome);
    return true;
  }

  /** Reports every pending packet lost now (the client was released). */
  failAll(): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    this.stopTimer();
    for (const e of entries) e.settle('lost');
  }

  /** One check: report exhausted packets lost, resend the others past their grace. */
  private check(): void {
    const now = this.now();
    for (const [fp, entry] of this.pending) {
      if (entry.resends >= this.timings.maxResends) {
        this.remove(fp);
        entry.settle('lost');
      } else if (now - entry.sentAt > this.timings.graceMs) {
        entry.resends++;
        try {
          this.resend(entry.body);
        } catch {
          // The link is down; the resend counts anyway, as in the SDKs.
        }
      }
    }
  }

  private remove(fp: string): void {
    this.pending.delete(fp);
    if (this.pending.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
