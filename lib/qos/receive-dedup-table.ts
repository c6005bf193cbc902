import { qosKey } from './qos-key';
/**
 * C2S receive deduplication (PROTOCOL.md §10.5), keyed by (sender, fp) as the
 * spec recommends (QUIRK-7). Bounded in time and size: entries expire after
 * `ttlMs` since last seen, and past `maxEntries` the oldest are evicted.
 * A Map keeps insertion order and a refresh re-inserts, so the oldest entry
 * is always first and both purges are O(1) per removed entry.
 */
export class ReceiveDedupTable {
  private readonly seen = new Map<string, number>();
  /** Entries evicted by the size cap before their time (a flood signal). */
  evicted = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Records (sender, fp) as seen now; returns true if it was already seen within the TTL. */
  checkAndRecord(sender: string, fp: string, now: number): boolean {
    const key = qosKey(sender, fp);
    const last = this.seen.get(key);
    const duplicate = last !== undefined && now - last < this.ttlMs;
    if (last !== undefined) this.seen.delete(key);
    this.seen.set(key, now);
    this.purge(now);
    return duplicate;
  }

  /** Removes expired entries and enforces the size cap. */
  purge(now: number): void {
    for (const [key, at] of this.seen) {
      const expired = now - at >= this.ttlMs;
      if (!expired && this.seen.size <= this.maxEntries) break;
      if (!expired) this.evicted++;
      this.seen.delete(key);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
