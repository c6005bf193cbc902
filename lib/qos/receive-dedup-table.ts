import { LinkedQueue, QueueNode } from './linked-queue';
import { qosKey } from './qos-key';

interface SeenNode extends QueueNode {
  readonly key: string;
  at: number;
}

/**
 * C2S receive deduplication (PROTOCOL.md §10.5), keyed by (sender, fp) as the
 * spec recommends (QUIRK-7). Bounded in time and size: entries expire `ttlMs`
 * after they were last seen, and past `maxEntries` the least recently seen are
 * evicted. Every operation is O(1): a map for lookup, a linked queue in
 * order of last sighting for expiry and eviction.
 */
export class ReceiveDedupTable {
  private readonly seen = new Map<string, SeenNode>();
  private readonly order = new LinkedQueue<SeenNode>();
  /** Entries evicted by the size cap before their time (a flood signal). */
  evicted = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Records (sender, fp) as seen now; returns true if it was already seen within the TTL. */
  checkAndRecord(sender: string, fp: string, now: number): boolean {
    const key = qosKey(sender, fp);
    let node = this.seen.get(key);
    const duplicate = node !== undefined && now - node.at < this.ttlMs;
    if (node) {
      node.at = now;
      this.order.touch(node);
    } else {
      node = { key, at: now, prev: null, next: null };
      this.seen.set(key, node);
      this.order.push(node);
    }
    this.purge(now);
    return duplicate;
  }

  /** Forgets (sender, fp), e.g. when what it recorded did not happen after all. */
  forget(sender: string, fp: string): void {
    const key = qosKey(sender, fp);
    const node = this.seen.get(key);
    if (!node) return;
    this.seen.delete(key);
    this.order.remove(node);
  }

  /** Removes expired entries and enforces the size cap. */
  purge(now: number): void {
    for (let node = this.order.first; node; node = this.order.first) {
      const expired = now - node.at >= this.ttlMs;
      if (!expired && this.seen.size <= this.maxEntries) break;
      if (!expired) this.evicted++;
      this.order.remove(node);
      this.seen.delete(node.key);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
