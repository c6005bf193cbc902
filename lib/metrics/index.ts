export * from './im-metrics';
export * from './close-reason';
export * from './metrics-options';
export { IM_METRICS } from './metrics.constants';
export { PrometheusIMMetrics, type IMMetricsSource } from './prometheus-metrics';
export { BucketHistogram } from './bucket-histogram';
