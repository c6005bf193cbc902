/**
 * Receive-side deduplication of QoS packets by fingerprint (PROTOCOL.md §10.6):
 * a packet whose fp was seen within `ttlMs` (10 min in the SDKs) is ACKed
 * again but not delivered again. A Map keeps insertion order and a repeat
 * re-inserts, so the oldest entry is always first: expired entries are purged
 * on each insert at O(1) per entry, with no timer. `maxEntries` bounds memory
 * under a flood; past it the oldest are forgotten early.
 */
export class ReceivedFingerprints {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records `fp` as seen now; returns true when it was already seen within the TTL. */
  checkAndRecord(fp: string): boolean {
    const now = this.now();
    const last = this.seen.get(fp);
    const duplicate = last !== undefined && now - last < this.ttlMs;
    if (last !== undefined) this.seen.delete(fp);
    this.seen.set(fp, now);
    for (const [key, at] of this.seen) {
      if (this.seen.size <= this.maxEntries && now - at < this.ttlMs) break;
      this.seen.delete(key);
    }
    return duplicate;
  }

  /** Number of fingerprints remembered. */
  get size(): number {
    return this.seen.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.seen.clear();
  }
}
