/** Injection token of the module's {@link IMMetrics} sink (the Prometheus one, or the no-op). */
export const IM_METRICS = Symbol('nestjs-im:metrics');
