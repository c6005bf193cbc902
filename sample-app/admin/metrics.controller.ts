import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { isIMWorker } from '../../lib';
import { AdminTokenGuard } from './admin-token.guard';
import { allWorkersMetrics, WORKER_METRICS_CONTENT_TYPE } from './worker-metrics';

/**
 * `/metrics` from @willsoto/nestjs-prometheus (prom-client's global registry,
 * where the IM module registers its metrics), behind the admin token:
 * Prometheus sends it with `authorization: { credentials_file: ... }`.
 * Under `IM_WORKERS` it answers for every worker of the machine, summed.
 */
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @UseGuards(AdminTokenGuard)
  override async index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    if (!isIMWorker()) return super.index(response);
    const text = await allWorkersMetrics();
    (response as { header(name: string, value: string): void }).header('Content-Type', WORKER_METRICS_CONTENT_TYPE);
    return text;
  }
}
