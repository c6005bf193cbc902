import type { IMPresence } from './presence';

/** What a {@link ClusterLink} tells its node. */
export interface ClusterLinkEvents {
  /** A message arrived on this node's channel. */
  message(text: string): void;
  /**
   * Commands can be sent and this node's channel is listened to (at start and after every
   * reconnection): the node renews its liveness and re-asserts its presence.
   */
  joinable(): void;
  /** A failure outside any call the node made (subscribing); the node logs it. */
  error(err: unknown): void;
}

/**
 * A cluster node's connection to what the nodes share: presence, and a pub/sub channel per node.
 * Twins: `RedisClusterLink` (one Redis or a Redis Cluster) and `MemoryClusterLink` (the nodes of
 * one process on a `MemoryClusterHub`). The routing, the requests and their deadlines, the
 * duplicate-login rules and the repairs live in the node (`RedisCluster`), the same on both.
 */
export interface ClusterLink {
  /** This node's presence; available once {@link open} was called. */
  readonly presence: IMPresence;
  /** Whether commands can be sent now (false while Redis is unreachable, and after close). */
  readonly ready: boolean;
  /** Connects and listens on this node's channel; `events` hear of it from then on. */
  open(events: ClusterLinkEvents): void;
  /** Publishes to a node's channel; resolves with how many listened (0: nobody, the node is gone). */
  publish(nodeId: string, text: string): Promise<number>;
  /** Whether the shared store answers within `timeoutMs` (health checks); false at once while not ready. */
  ping(timeoutMs: number): Promise<boolean>;
  /** Stops listening and disconnects; once. */
  close(): Promise<void>;
}
