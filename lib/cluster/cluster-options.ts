import type { MemoryClusterHub } from './memory-presence';

/**
 * ioredis connection options (its `RedisOptions`: host, port, password, db, tls, ...), handed to
 * `new Redis(options)` unchanged. Declared as `object` so that the published types compile without
 * ioredis installed; write `{ ... } satisfies RedisOptions` to have them checked against ioredis.
 */
export type ClusterRedisOptions = object;

/**
 * A Redis Cluster: its seed nodes and ioredis `ClusterOptions` (handed to `new Cluster(nodes, options)`;
 * `redisOptions` there apply to every connection). Needs Redis 7 (sharded pub/sub).
 */
export interface ClusterRedisClusterConfig {
  nodes: Array<string | number | { host?: string; port?: number }>;
  options?: object;
}

/** Whether `redis` names a Redis Cluster rather than one Redis. */
export function isRedisClusterConfig(redis: ClusterOptions['redis']): redis is ClusterRedisClusterConfig {
  return typeof redis === 'object' && redis !== null && Array.isArray((redis as ClusterRedisClusterConfig).nodes);
}

/** Scale-out over Redis: presence, cross-node routing and delivery results. */
export interface ClusterOptions {
  /**
   * Redis connection: a URL (`redis://127.0.0.1:6379`), ioredis options, or a Redis Cluster (`{ nodes: [...] }`).
   * Required unless `memory` is given.
   */
  redis?: string | ClusterRedisOptions | ClusterRedisClusterConfig;
  /**
   * Instead of `redis`: a `MemoryClusterHub` (from `nestjs-im/testing`) shared by the nodes of this
   * process, which then form a cluster without Redis (tests; not a deployment: one process is one
   * failure domain). `keyPrefix` does not apply: the hub is the cluster.
   */
  memory?: MemoryClusterHub;
  /** This node's id, unique in the cluster. Default: host name + pid + random suffix. */
  nodeId?: string;
  /** Prefix of every Redis key and channel; it becomes their hash tag (`{im:}presence`) unless it has one. Default `im:`. */
  keyPrefix?: string;
  /** How long a node waits for another node's answer (C2C, kick, duplicate login) and for any Redis command. Default 2000 ms. */
  requestTimeoutMs?: number;
  /** A node that has not renewed its liveness key for this long is considered gone; renewed every min(1 s, nodeTtlMs / 3). Default 10,000 ms. */
  nodeTtlMs?: number;
}
