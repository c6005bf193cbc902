import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { AdminTokenGuard } from './admin-token.guard';

/**
 * `/metrics` from @willsoto/nestjs-prometheus (prom-client's global registry,
 * where the IM module registers its metrics), behind the admin token:
 * Prometheus sends it with `authorization: { credentials_file: ... }`.
 */
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @UseGuards(AdminTokenGuard)
  override index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
