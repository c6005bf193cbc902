import { Inject, Injectable } from '@nestjs/common';
import { IM_CLUSTER } from '../cluster/cluster.constants';
import type { RedisCluster } from '../cluster/redis-cluster';
import { IM_RESOLVED_OPTIONS } from '../im-module-definition';
import { ResolvedIMOptions } from '../im-options.interface';
import { IMServer } from '../im-server';

/**
 * One indicator's result, in the shape of `@nestjs/terminus`'s
 * `HealthIndicatorResult` (declared here so the library needs terminus
 * neither at run time nor in its type declarations).
 */
export type IMHealthResult<K extends string = string> = Record<K, { status: 'up' | 'down'; [detail: string]: unknown }>;

/**
 * Health of the IM server for `@nestjs/terminus`'s `HealthCheckService.check()`:
 * every enabled listener bound, and Redis answering when the cluster is on.
 * A down result is returned, not thrown, as terminus 10+ expects.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.im.isHealthy()]); }
 * ```
 */
@Injectable()
export class IMHealthIndicator {
  constructor(
    private readonly server: IMServer,
    @Inject(IM_RESOLVED_OPTIONS) private readonly options: ResolvedIMOptions,
    @Inject(IM_CLUSTER) private readonly cluster: RedisCluster | null,
  ) {}

  /** Every enabled transport has a bound port. */
  listeners<K extends string = 'im'>(key: K = 'im' as K): IMHealthResult<K> {
    const ports = this.server.ports;
    const down = (['tcp', 'udp', 'ws'] as const).filter((t) => this.options[t] !== false && ports[t] === undefined);
    return result(key, down.length === 0 ? { status: 'up', ...ports } : { status: 'down', ...ports, notListening: down });
  }

  /** Redis answers a PING within `timeoutMs`; up without a cluster (nothing to reach). */
  async redis<K extends string = 'redis'>(key: K = 'redis' as K, timeoutMs = 1000): Promise<IMHealthResult<K>> {
    if (!this.cluster) return result(key, { status: 'up', cluster: false });
    const ok = await this.cluster.ping(timeoutMs);
    return result(key, ok ? { status: 'up', cluster: true } : { status: 'down', cluster: true, message: 'Redis does not answer' });
  }

  /** Both checks under one key: listeners bound and Redis (when the cluster is on) reachable. */
  async isHealthy<K extends string = 'im'>(key: K = 'im' as K, timeoutMs = 1000): Promise<IMHealthResult<K>> {
    const listeners = this.listeners('im')['im'];
    const redis = (await this.redis('redis', timeoutMs))['redis'];
    const status = listeners.status === 'up' && redis.status === 'up' ? 'up' : 'down';
    return result(key, { status, listeners, redis });
  }
}

function result<K extends string>(key: K, detail: IMHealthResult[string]): IMHealthResult<K> {
  return { [key]: detail } as IMHealthResult<K>;
}
