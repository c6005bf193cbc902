import type { ClusterOptions } from './cluster/cluster-options';
import { MemoryClusterHub } from './cluster/memory-presence';
import { ResolvedIMOptions } from './im-options.interface';

/** A numeric option's allowed range. */
interface NumericRule {
  readonly min: number;
  readonly max?: number;
  /** Fractions allowed (ratios, rates). */
  readonly fractional?: boolean;
}

const PORT: NumericRule = { min: 0, max: 65535 };
const POSITIVE: NumericRule = { min: 1 };
const COUNT: NumericRule = { min: 1 };
const RATE: NumericRule = { min: Number.MIN_VALUE, fractional: true };

/**
 * Numeric options and their ranges, by section. A value outside would not fail
 * loudly later: `limits.burst: 0` drops every packet, `tickMs: 0` spins a timer.
 */
const RULES: Record<'tcp' | 'udp' | 'ws' | 'qos' | 'limits' | 'storeLimits', Record<string, NumericRule>> = {
  storeLimits: { maxPerUser: COUNT, maxTotal: COUNT, ttlMs: POSITIVE, readBatch: { min: 1, max: 10_000 } },
  tcp: {
    port: PORT, idleTimeoutMs: POSITIVE, maxFrameBytes: POSITIVE, maxOutboundBytes: POSITIVE, maxConnections: COUNT,
    backlog: COUNT, handshakeTimeoutMs: POSITIVE, closeTimeoutMs: { min: 0 }, maxBufferedBytes: POSITIVE,
  },
  udp: {
    port: PORT, idleTimeoutMs: POSITIVE, maxDatagramBytes: POSITIVE, maxOutboundBytes: POSITIVE, maxSessions: COUNT,
    recvBufferBytes: POSITIVE, maxReplyRatio: { min: 0, fractional: true },
  },
  ws: {
    idleTimeoutMs: POSITIVE, maxPayloadBytes: POSITIVE, maxOutboundBytes: POSITIVE, maxConnections: COUNT, backlog: COUNT,
    handshakeTimeoutMs: POSITIVE, closeTimeoutMs: { min: 0 }, maxBufferedBytes: POSITIVE,
  },
  qos: {
    retransmitIntervalMs: POSITIVE, maxRetransmits: { min: 0 }, udpRetransmitIntervalMs: POSITIVE,
    udpRetransmitBackoff: { min: 1, fractional: true }, udpMaxRetransmitIntervalMs: POSITIVE, udpMaxRetransmits: { min: 0 },
    udpRetransmitLifetimeMs: { min: 0 }, maxPending: COUNT, dedupTtlMs: POSITIVE,
    dedupMaxEntries: COUNT, dedupMaxBytes: POSITIVE, dedupMaxEntriesPerUser: COUNT,
  },
  limits: {
    packetsPerSecond: RATE, burst: { min: 1, fractional: true }, controlPacketsPerSecond: RATE,
    controlBurst: { min: 1, fractional: true }, maxQueuedPackets: COUNT, maxQueuedBytes: POSITIVE, maxCrossNodeInFlight: COUNT,
    maxFingerprintLength: { min: 36 }, maxUserIdLength: POSITIVE, loginTimeoutMs: POSITIVE,
    anonymousPacketsPerSecond: RATE, anonymousBurst: { min: 1, fractional: true }, maxUnauthenticated: COUNT,
    maxUnauthenticatedPerAddress: COUNT, fdReserve: { min: 0 }, loginFailuresPerAddress: COUNT,
    loginFailuresPerUser: COUNT, loginThrottleWindowMs: POSITIVE, loginThrottleMaxEntries: COUNT, jsonMaxDepth: COUNT,
    abuseLogIntervalMs: { min: 0 },
  },
};

/**
 * Checks the resolved options' numbers and throws one error naming every field
 * out of range (with the allowed range), so a typo fails at start-up instead of
 * silently disabling the server.
 */
export function validateOptions(o: ResolvedIMOptions): void {
  const problems: string[] = [];
  for (const [section, rules] of Object.entries(RULES)) {
    const values = o[section as keyof typeof RULES];
    if (!values) continue;
    for (const [field, rule] of Object.entries(rules)) {
      const v = (values as unknown as Record<string, unknown>)[field];
      if (field === 'port' && v === 'http') continue;
      const ok = typeof v === 'number' && !Number.isNaN(v) && v >= rule.min && (rule.max === undefined || v <= rule.max)
        && (rule.fractional || Number.isInteger(v) || v === Infinity);
      if (!ok) problems.push(`${section}.${field} must be ${describe(rule)} (got ${JSON.stringify(v)})`);
    }
  }
  if (!(Number.isInteger(o.tickMs) && o.tickMs >= 1)) problems.push(`tickMs must be an integer ≥ 1 (got ${JSON.stringify(o.tickMs)})`);
  const store = o.store as unknown;
  const storeOk = store === false || store === 'memory'
    || (typeof store === 'object' && store !== null && (typeof (store as { append?: unknown }).append === 'function' || 'redis' in store));
  if (!storeOk) problems.push(`store must be 'memory', false, { redis } or an IMMessageStore (got ${JSON.stringify(store)})`);
  if (o.cluster) problems.push(...clusterProblems(o.cluster));
  if (!(Number.isInteger(o.drainTimeoutMs) && o.drainTimeoutMs >= 0)) problems.push(`drainTimeoutMs must be an integer ≥ 0 (got ${JSON.stringify(o.drainTimeoutMs)})`);
  if (problems.length) throw new Error(`nestjs-im: invalid options: ${problems.join('; ')}`);
}

/** The cluster runs on exactly one of Redis and a memory hub; its waits are positive. */
function clusterProblems(c: ClusterOptions): string[] {
  const problems: string[] = [];
  const { redis, memory } = c;
  if ((redis === undefined) === (memory === undefined)) {
    problems.push(`cluster needs exactly one of redis (a URL, ioredis options or { nodes }) and memory (a MemoryClusterHub) (got ${redis === undefined ? 'neither' : 'both'})`);
  } else if (memory !== undefined && !(memory instanceof MemoryClusterHub)) {
    problems.push(`cluster.memory must be a MemoryClusterHub from nestjs-im/testing (got ${typeof memory === 'object' && memory !== null ? `an instance of ${(memory as object).constructor?.name ?? 'Object'}` : JSON.stringify(memory)})`);
  } else if (redis !== undefined && typeof redis !== 'string' && (typeof redis !== 'object' || redis === null)) {
    problems.push(`cluster.redis must be a URL, ioredis options or { nodes } (got ${JSON.stringify(redis)})`);
  }
  for (const field of ['requestTimeoutMs', 'nodeTtlMs'] as const) {
    const v = c[field];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) problems.push(`cluster.${field} must be an integer ≥ 1 (got ${JSON.stringify(v)})`);
  }
  return problems;
}

function describe(rule: NumericRule): string {
  const kind = rule.fractional ? 'a number' : 'an integer';
  if (rule.min === Number.MIN_VALUE) return `${kind} > 0`;
  return rule.max === undefined ? `${kind} ≥ ${rule.min}` : `${kind} from ${rule.min} to ${rule.max}`;
}
