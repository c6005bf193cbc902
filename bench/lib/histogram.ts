/** Serialised form of a {@link Histogram}, small enough to cross IPC. */
export interface HistogramData {
  buckets: [number, number][];
  count: number;
  max: number;
  min: number;
}

/** Bucket growth factor: every value is known to within 1%. */
const GROWTH = 1.02;
const LN_GROWTH = Math.log(GROWTH);

/**
 * Log-bucketed latency histogram in microseconds: O(1) record, mergeable
 * across worker processes, percentiles within 2%. Exact min and max.
 */
export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  max = 0;
  min = Infinity;

  record(us: number): void {
    const i = us < 1 ? 0 : Math.floor(Math.log(us) / LN_GROWTH) + 1;
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
    this.count++;
    if (us > this.max) this.max = us;
    if (us < this.min) this.min = us;
  }

  merge(d: HistogramData): this {
    for (const [i, c] of d.buckets) this.counts.set(i, (this.counts.get(i) ?? 0) + c);
    this.count += d.count;
    this.max = Math.max(this.max, d.max);
    this.min = Math.min(this.min, d.min);
    return this;
  }

  /** Value at percentile `p` (0-100), in µs; the bucket's midpoint, clamped to [min, max]. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const i of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(i) as number;
      if (seen >= rank) {
        const mid = i === 0 ? 0.5 : Math.pow(GROWTH, i - 0.5);
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  toJSON(): HistogramData {
    return { buckets: [...this.counts.entries()], count: this.count, max: this.max, min: this.min };
  }

  static from(parts: (HistogramData | undefined)[]): Histogram {
    const h = new Histogram();
    for (const p of parts) if (p) h.merge(p);
    return h;
  }
}

/** Latency summary in ms. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  return { count: h.count, p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max) };
}
