/**
 * ioredis connection options (its `RedisOptions`: host, port, password, db, tls, ...), handed to
 * `new Redis(options)` unchanged. Declared as `object` so that the published types compile without
 * ioredis installed; write `{ ... } satisfies RedisOptions` to have them checked against ioredis.
 */
export type ClusterRedisOptions = object;

/** Scale-out over Redis: presence, cross-node routing and delivery results. */
export interface ClusterOptions {
  /** Redis connection: a URL (`redis://127.0.0.1:6379`) or ioredis options. */
  redis: string | ClusterRedisOptions;
  /** This node's id, unique in the cluster. Default: host name + pid + random suffix. */
  nodeId?: string;
  /** Prefix of every Redis key and channel. Default `im:`. */
  keyPrefix?: string;
  /** How long a node waits for another node's answer (C2C, kick, duplicate login). Default 2000 ms. */
  requestTimeoutMs?: number;
  /** A node that has not renewed its liveness key for this long is considered gone. Default 10,000 ms. */
  nodeTtlMs?: number;
}
