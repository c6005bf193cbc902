// Kept apart from redis-presence.ts so that the public types never import ioredis (an optional peer).

/** Where a user is online: the node, the session there, and the `firstLoginTime` of that session. */
export interface PresenceEntry {
  nodeId: string;
  /** The session's id on its node: a claim supersedes exactly the session it replaced. */
  sessionId: number;
  firstLoginTime: number;
}
