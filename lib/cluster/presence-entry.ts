// Kept apart from redis-presence.ts so that the public types never import ioredis (an optional peer).

/** Where a user is online: the node and the `firstLoginTime` of its session there. */
export interface PresenceEntry {
  nodeId: string;
  firstLoginTime: number;
}
