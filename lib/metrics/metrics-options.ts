/**
 * The part of prom-client's `Registry` the sink uses; declared here so the
 * library's types compile without prom-client installed. A prom-client
 * `Registry` (or its global `register`) fits.
 */
export interface IMMetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** `IMModule.forRoot({ metrics })`: Prometheus metrics through prom-client (an optional peer). Off by default. */
export interface IMMetricsOptions {
  /**
   * Registry the metrics are registered on. Default: prom-client's global
   * `register`, which `@willsoto/nestjs-prometheus` serves at `/metrics`.
   */
  registry?: IMMetricsRegistry;
  /** Prefix of every metric name. Default `im_`. */
  prefix?: string;
  /** Buckets of the ACK round-trip and delivery-latency histograms, in seconds. */
  latencyBuckets?: number[];
}

/** Default buckets of the QoS histograms (seconds): loopback sub-millisecond up to the retransmission window. */
export const DEFAULT_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
