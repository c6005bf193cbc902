export * from './im-metrics';
export * from './close-reason';
export * from './metrics-options';
export { IM_METRICS } from './metrics.provider';
export { PrometheusIMMetrics, type IMMetricsSource } from './prometheus-metrics';
export { BucketHistogram } from './bucket-histogram';
