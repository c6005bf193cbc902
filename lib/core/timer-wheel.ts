/**
 * Time buckets for many deadlines with one shared tick (no per-item timers).
 * Items are put in the bucket of their deadline rounded up to the resolution;
 * `advance` fires every bucket that is due. Cancelling is lazy: the fire
 * callback decides whether an item is still live.
 */
export class TimerWheel<T> {
  private readonly buckets = new Map<number, T[]>();
  private cursor: number;
  private count = 0;

  constructor(
    private readonly resolutionMs: number,
    startMs: number,
    private readonly fire: (item: T, now: number) => void,
  ) {
    this.cursor = Math.floor(startMs / resolutionMs);
  }

  /** Items waiting, including lazily cancelled ones. */
  get size(): number {
    return this.count;
  }

  /** Schedules `item` to fire at or shortly after `atMs`. */
  schedule(item: T, atMs: number): void {
    const slot = Math.max(Math.ceil(atMs / this.resolutionMs), this.cursor + 1);
    const bucket = this.buckets.get(slot);
    if (bucket) bucket.push(item);
    else this.buckets.set(slot, [item]);
    this.count++;
  }

  /** Fires every item whose bucket is due at `nowMs`. */
  advance(nowMs: number): void {
    const target = Math.floor(nowMs / this.resolutionMs);
    if (target <= this.cursor) return;
    if (target - this.cursor > this.buckets.size * 2 + 64) {
      // A long jump (idle server, manual clock): visit only buckets that exist.
      const due = [...this.buckets.keys()].filter((k) => k <= target).sort((a, b) => a - b);
      this.cursor = target;
      for (const slot of due) this.fireSlot(slot, nowMs);
      return;
    }
    while (this.cursor < target) {
      this.cursor++;
      this.fireSlot(this.cursor, nowMs);
    }
  }

  /** Drops every item. */
  clear(): void {
    this.buckets.clear();
    this.count = 0;
  }

  private fireSlot(slot: number, nowMs: number): void {
    const bucket = this.buckets.get(slot);
    if (!bucket) return;
    this.buckets.delete(slot);
    this.count -= bucket.length;
    for (const item of bucket) this.fire(item, nowMs);
  }
}
