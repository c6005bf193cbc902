import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { IM_BRIDGE } from './bridge/bridge.constants';
import { IMBridge } from './bridge/im-bridge';
import { IM_CLUSTER } from './cluster/cluster.constants';
import { RedisCluster } from './cluster/redis-cluster';
import { IMCore } from './core/im-core';
import { qosOutcomeDeadlineMs } from './qos/retransmit-policy';
import { IMHandlerExplorer } from './handlers/im-handler-explorer';
import { ConfigurableModuleClass, IM_MODULE_OPTIONS, IM_RESOLVED_OPTIONS } from './im-module-definition';
import { IMModuleOptions, ResolvedIMOptions } from './im-options.interface';
import { resolveOptions } from './im-options';
import { IMServer } from './im-server';
import { imMetricsProvider } from './im-metrics.provider';
import { IM_METRICS } from './metrics/metrics.constants';
import { PushService } from './push/push.service';

/**
 * nestjs-im: a MobileIMSDK-compatible IM server in a Nest application.
 * `IMModule.forRoot({ tcp, udp, ws })` or `forRootAsync({ useFactory, inject })`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: IM_RESOLVED_OPTIONS, useFactory: (o: IMModuleOptions) => resolveOptions(o), inject: [IM_MODULE_OPTIONS] },
    { provide: IMCore, useFactory: (o: ResolvedIMOptions) => new IMCore(o), inject: [IM_RESOLVED_OPTIONS] },
    {
      provide: IM_CLUSTER,
      useFactory: (o: ResolvedIMOptions, core: IMCore) =>
        o.cluster ? new RedisCluster(core, o.cluster, qosOutcomeDeadlineMs(o.qos)) : null,
      inject: [IM_RESOLVED_OPTIONS, IMCore],
    },
    {
      provide: IM_BRIDGE,
      useFactory: (o: ResolvedIMOptions, core: IMCore) =>
        o.bridge ? new IMBridge(core, o.bridge, {
          lenientJson: o.lenientJson,
          dedup: { ttlMs: o.qos.dedupTtlMs, maxEntries: o.qos.dedupMaxEntries, maxBytes: o.qos.dedupMaxBytes, maxEntriesPerUser: o.qos.dedupMaxEntriesPerUser },
        }) : null,
      inject: [IM_RESOLVED_OPTIONS, IMCore],
    },
    imMetricsProvider,
    IMServer,
    IMHandlerExplorer,
    PushService,
  ],
  exports: [PushService, IMServer, IMCore, IM_RESOLVED_OPTIONS, IM_CLUSTER, IM_BRIDGE, IM_METRICS],
})
export class IMModule extends ConfigurableModuleClass {}
