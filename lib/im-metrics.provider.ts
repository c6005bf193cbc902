import { Provider } from '@nestjs/common';
import { IMCore } from './core/im-core';
import { IM_RESOLVED_OPTIONS } from './im-module-definition';
import { ResolvedIMOptions } from './im-options.interface';
import { IMMetrics, NOOP_METRICS } from './metrics/im-metrics';
import { IM_METRICS } from './metrics/metrics.constants';
import { PrometheusIMMetrics } from './metrics/prometheus-metrics';

/** Unregisters the Prometheus metrics when the module is destroyed, so an application can be created again in the same process. */
class RegisteredPrometheusMetrics extends PrometheusIMMetrics {
  onModuleDestroy(): void {
    this.unregister();
  }
}

/** Builds the sink named by `options.metrics` and installs it in the core. */
export const imMetricsProvider: Provider = {
  provide: IM_METRICS,
  useFactory: (options: ResolvedIMOptions, core: IMCore): IMMetrics => {
    if (!options.metrics) return NOOP_METRICS;
    const sink = new RegisteredPrometheusMetrics(core, options.metrics);
    sink.register();
    core.metrics = sink;
    return sink;
  },
  inject: [IM_RESOLVED_OPTIONS, IMCore],
};
