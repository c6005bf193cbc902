import { resolveBridgeOptions } from './bridge/bridge-options';
import { streamIdleTimeoutMs, udpIdleTimeoutMs } from './protocol/sense-mode';
import { IMModuleOptions, ResolvedIMOptions } from './im-options.interface';
import { validateOptions } from './options-validation';

/** Default ports, as in the reference server. */
export const DEFAULT_PORTS = { tcp: 8901, udp: 7901, ws: 3000 } as const;
const DEFAULT_MAX_CONNECTIONS = 50_000;

/** Applies the documented defaults to user options and checks their ranges (throws naming each bad field). */
export function resolveOptions(o: IMModuleOptions = {}): ResolvedIMOptions {
  const resolved = applyDefaults(o);
  validateOptions(resolved);
  return resolved;
}

function applyDefaults(o: IMModuleOptions): ResolvedIMOptions {
  const tcpMax = (o.tcp && o.tcp.maxFrameBytes) || 6144;
  return {
    tcp: o.tcp === false ? false : {
      port: o.tcp?.port ?? DEFAULT_PORTS.tcp,
      host: o.tcp?.host,
      idleTimeoutMs: o.tcp?.idleTimeoutMs ?? streamIdleTimeoutMs(o.tcp?.senseMode ?? 'DEFAULT'),
      maxFrameBytes: tcpMax,
      maxOutboundBytes: o.tcp?.maxOutboundBytes ?? tcpMax,
      maxConnections: o.tcp?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      backlog: o.tcp?.backlog ?? 4096,
      tls: o.tcp?.tls,
      handshakeTimeoutMs: o.tcp?.handshakeTimeoutMs ?? 10_000,
      closeTimeoutMs: o.tcp?.closeTimeoutMs ?? 5000,
      maxBufferedBytes: o.tcp?.maxBufferedBytes ?? 1024 * 1024,
    },
    udp: o.udp === false ? false : {
      port: o.udp?.port ?? DEFAULT_PORTS.udp,
      host: o.udp?.host,
      ipv6: o.udp?.ipv6 ?? false,
      idleTimeoutMs: o.udp?.idleTimeoutMs ?? udpIdleTimeoutMs(o.udp?.senseMode ?? 'DEFAULT'),
      maxDatagramBytes: o.udp?.maxDatagramBytes ?? 2048,
      maxOutboundBytes: o.udp?.maxOutboundBytes ?? 1024,
      maxSessions: o.udp?.maxSessions ?? DEFAULT_MAX_CONNECTIONS,
      recvBufferBytes: o.udp?.recvBufferBytes ?? 4 * 1024 * 1024,
      maxReplyRatio: o.udp?.maxReplyRatio ?? 1,
    },
    ws: o.ws === false ? false : {
      port: o.ws?.port ?? DEFAULT_PORTS.ws,
      host: o.ws?.host,
      path: o.ws?.path ?? '/websocket',
      idleTimeoutMs: o.ws?.idleTimeoutMs ?? streamIdleTimeoutMs(o.ws?.senseMode ?? 'DEFAULT'),
      maxPayloadBytes: o.ws?.maxPayloadBytes ?? 65536,
      maxOutboundBytes: o.ws?.maxOutboundBytes ?? 65536,
      maxConnections: o.ws?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      backlog: o.ws?.backlog ?? 4096,
      tls: o.ws?.tls,
      handshakeTimeoutMs: o.ws?.handshakeTimeoutMs ?? 10_000,
      closeTimeoutMs: o.ws?.closeTimeoutMs ?? 5000,
      maxBufferedBytes: o.ws?.maxBufferedBytes ?? 1024 * 1024,
    },
    qos: {
      retransmitIntervalMs: o.qos?.retransmitIntervalMs ?? 4000,
      maxRetransmits: o.qos?.maxRetransmits ?? 1,
      udpRetransmitIntervalMs: o.qos?.udpRetransmitIntervalMs ?? 2000,
      udpRetransmitBackoff: o.qos?.udpRetransmitBackoff ?? 2,
      udpMaxRetransmitIntervalMs: o.qos?.udpMaxRetransmitIntervalMs ?? 8000,
      udpMaxRetransmits: o.qos?.udpMaxRetransmits ?? 8,
      udpRetransmitLifetimeMs: o.qos?.udpRetransmitLifetimeMs ?? 30_000,
      maxPending: o.qos?.maxPending ?? 200_000,
      dedupTtlMs: o.qos?.dedupTtlMs ?? 10 * 60_000,
      dedupMaxEntries: o.qos?.dedupMaxEntries ?? 200_000,
      dedupMaxBytes: o.qos?.dedupMaxBytes ?? 32 * 1024 * 1024,
      dedupMaxEntriesPerUser: o.qos?.dedupMaxEntriesPerUser ?? 10_000,
    },
    limits: {
      packetsPerSecond: o.limits?.packetsPerSecond ?? 200,
      burst: o.limits?.burst ?? 400,
      controlPacketsPerSecond: o.limits?.controlPacketsPerSecond ?? 1000,
      controlBurst: o.limits?.controlBurst ?? 2000,
      maxQueuedPackets: o.limits?.maxQueuedPackets ?? 1000,
      maxQueuedBytes: o.limits?.maxQueuedBytes ?? 1024 * 1024,
      maxCrossNodeInFlight: o.limits?.maxCrossNodeInFlight ?? 100,
      maxFingerprintLength: o.limits?.maxFingerprintLength ?? 64,
      maxUserIdLength: o.limits?.maxUserIdLength ?? 128,
      loginTimeoutMs: o.limits?.loginTimeoutMs ?? 5000,
      anonymousPacketsPerSecond: o.limits?.anonymousPacketsPerSecond ?? 2,
      anonymousBurst: o.limits?.anonymousBurst ?? 10,
      maxUnauthenticated: o.limits?.maxUnauthenticated ?? 2000,
      maxUnauthenticatedPerAddress: o.limits?.maxUnauthenticatedPerAddress ?? 100,
      fdReserve: o.limits?.fdReserve ?? 512,
      loginFailuresPerAddress: o.limits?.loginFailuresPerAddress ?? 20,
      loginFailuresPerUser: o.limits?.loginFailuresPerUser ?? 10,
      loginThrottleWindowMs: o.limits?.loginThrottleWindowMs ?? 60_000,
      loginThrottleMaxEntries: o.limits?.loginThrottleMaxEntries ?? 100_000,
      jsonMaxDepth: o.limits?.jsonMaxDepth ?? 32,
      abuseLogIntervalMs: o.limits?.abuseLogIntervalMs ?? 10_000,
    },
    cluster: o.cluster,
    bridge: o.bridge ? resolveBridgeOptions(o.bridge) : undefined,
    serverTimestamp: o.serverTimestamp ?? false,
    echoRequiresLogin: o.echoRequiresLogin ?? false,
    lenientJson: o.lenientJson ?? true,
    manualStart: o.manualStart ?? false,
    clock: o.clock,
    tickMs: o.tickMs ?? 100,
    drainTimeoutMs: o.drainTimeoutMs ?? 5000,
    metrics: o.metrics === true ? {} : o.metrics || undefined,
    store: o.store ?? 'memory',
    storeLimits: {
      maxPerUser: o.storeLimits?.maxPerUser ?? 1000,
      maxTotal: o.storeLimits?.maxTotal ?? 100_000,
      ttlMs: o.storeLimits?.ttlMs ?? 7 * 24 * 3600_000,
      readBatch: o.storeLimits?.readBatch ?? 100,
    },
  };
}
