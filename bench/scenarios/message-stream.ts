import { BenchClient } from '../lib/client-pool';
import { AckPacket, SeqPacket } from '../lib/wire';

/**
 * Per-message state byte: ACKED and GAVE_UP flags, and the number of resends
 * in the upper bits (add ONE_TRY per resend; `state >> 2` reads it).
 */
export const ACKED = 1;
export const GAVE_UP = 2;
export const ONE_TRY = 4;

/** A byte per sequence number, growing as needed. */
export class SeqBytes {
  private a = new Uint8Array(4096);

  get(i: number): number {
    return i < this.a.length ? this.a[i] : 0;
  }

  set(i: number, v: number): void {
    if (i >= this.a.length) {
      const b = new Uint8Array(Math.max(this.a.length * 2, i + 1));
      b.set(this.a);
      this.a = b;
    }
    this.a[i] = v;
  }
}

/**
 * One sender and, for c2c, its receiver. Send times live in rings indexed by
 * `seq & mask`, far larger than the window, so a time is still there when the
 * late ACK or delivery of an in-flight message comes.
 */
export class Stream {
  seq = 0;
  inflight = 0;
  /** Sequence numbers below this are settled (ACKed or given up). */
  lowest = 0;
  readonly mask: number;
  readonly firstSent: Float64Array;
  readonly lastSent: Float64Array;
  readonly state = new SeqBytes();
  readonly received = new SeqBytes();

  constructor(
    window: number,
    readonly sender: BenchClient,
    readonly packet: SeqPacket,
    readonly receiver?: BenchClient,
    readonly ack?: AckPacket,
  ) {
    const ring = 1 << Math.max(12, Math.ceil(Math.log2(window * 256)));
    this.mask = ring - 1;
    this.firstSent = new Float64Array(ring);
    this.lastSent = new Float64Array(ring);
  }
}
