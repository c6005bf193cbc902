import { Logger } from '@nestjs/common';
import type { Cluster, default as Redis } from 'ioredis';
import type { ClusterLink, ClusterLinkEvents } from './cluster-link';
import { ClusterOptions, isRedisClusterConfig } from './cluster-options';
import { ClusterKeys, RedisClient, RedisPresence } from './redis-presence';

/**
 * A node's two Redis connections: one for commands (presence scripts, PUBLISH), one subscribed
 * to the node's channel. On a Redis Cluster: an ioredis `Cluster` and sharded pub/sub. Its twin
 * is `MemoryClusterLink`.
 */
export class RedisClusterLink implements ClusterLink {
  presence!: RedisPresence;
  private readonly logger = new Logger('IMCluster');
  private redis!: RedisClient;
  private subscriber!: RedisClient;
  /** On a Redis Cluster: sharded pub/sub (SPUBLISH, SSUBSCRIBE). */
  private sharded = false;
  private subscribed = false;
  private closed = false;

  constructor(
    private readonly options: ClusterOptions,
    private readonly nodeId: string,
    private readonly keys: ClusterKeys,
    private readonly requestTimeoutMs: number,
  ) {}

  get ready(): boolean {
    return !this.closed && this.redis?.status === 'ready';
  }

  open(events: ClusterLinkEvents): void {
    // Loaded here so that applications without a cluster need not install ioredis.
    const ioredis = require('ioredis') as { default: typeof Redis; Cluster: typeof Cluster };
    // Nothing waits for Redis longer than a cross-node request may take: a command fails at once
    // while the connection is down (no offline queue) and after `requestTimeoutMs` if Redis is frozen.
    const defaults = { enableOfflineQueue: false, commandTimeout: this.requestTimeoutMs };
    const redis = this.options.redis;
    let connect: (subscriber: boolean) => RedisClient;
    if (isRedisClusterConfig(redis)) {
      // Sharded pub/sub: each node's channel lives in the slot of its keys, and SPUBLISH counts its listeners.
      connect = (subscriber) =>
        new ioredis.Cluster(redis.nodes, {
          enableOfflineQueue: false,
          ...redis.options,
          ...(subscriber ? { shardedSubscribers: true } : {}),
          redisOptions: { commandTimeout: this.requestTimeoutMs, ...(redis.options as { redisOptions?: object } | undefined)?.redisOptions },
        });
      this.sharded = true;
    } else {
      connect = () => (typeof redis === 'string' ? new ioredis.default(redis, defaults) : new ioredis.default({ ...defaults, ...redis }));
    }
    this.redis = connect(false);
    this.subscriber = connect(true);
    this.presence = new RedisPresence(this.redis, this.keys, this.nodeId, this.sharded);
    this.watch(this.redis, 'commands');
    this.watch(this.subscriber, 'pub/sub');
    this.subscriber.on(this.sharded ? 'smessage' : 'message', (_channel: string, text: string) => events.message(text));
    // Every (re)connection: subscribe again, then the node rejoins; only once subscribed, so that
    // no other node routes to this one before it can hear.
    this.subscriber.on('ready', () => void this.subscribe(events));
    this.subscriber.on('close', () => (this.subscribed = false));
    this.redis.on('ready', () => this.joinable(events));
  }

  publish(nodeId: string, text: string): Promise<number> {
    const channel = this.keys.channel(nodeId);
    return (this.sharded ? this.redis.spublish(channel, text) : this.redis.publish(channel, text)) as Promise<number>;
  }

  /** Fails at once while the connection is down rather than waiting in ioredis's offline queue. */
  async ping(timeoutMs: number): Promise<boolean> {
    if (!this.ready) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
    try {
      return await Promise.race([this.redis.ping().then((r) => r === 'PONG', () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (!this.redis || this.closed) return;
    this.closed = true;
    this.subscriber.disconnect();
    // A connection that is already gone must not be disconnected again: ioredis
    // would arm a 2 s timer on the dead stream and keep the process alive.
    await this.redis.quit().catch(() => this.redis.status !== 'end' && this.redis.disconnect());
  }

  private async subscribe(events: ClusterLinkEvents): Promise<void> {
    try {
      const channel = this.keys.channel(this.nodeId);
      await (this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel));
      this.subscribed = true;
      this.joinable(events);
    } catch (err) {
      events.error(err);
    }
  }

  private joinable(events: ClusterLinkEvents): void {
    if (this.subscribed && this.ready) events.joinable();
  }

  /** Logs each Redis connection's state changes once (lost, back), not each error of an outage. */
  private watch(client: RedisClient, name: string): void {
    let up: boolean | undefined;
    const down = (why: string) => {
      if (up === false || this.closed) return;
      up = false;
      this.logger.error(`Redis (${name}) ${why}; local sessions are served, remote users take the offline path until it is back`);
    };
    client.on('error', (err: Error) => down(`unreachable: ${err.message}`));
    client.on('close', () => up && down('connection lost'));
    client.on('ready', () => {
      if (up === false) this.logger.log(`Redis (${name}) connection is back`);
      up = true;
    });
  }
}
