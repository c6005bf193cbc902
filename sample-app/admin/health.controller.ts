import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { IMHealthIndicator } from '../../lib';

/** `/health` for load balancers and orchestrators: 200 while every listener is bound and Redis (if used) answers, else 503. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly im: IMHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.im.isHealthy()]);
  }
}
