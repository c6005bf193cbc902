import type { PresenceEntry } from './presence-entry';

/**
 * Users per batch where presence works through many users at once (re-assertion, sweeping a dead
 * node): long enough to save round trips, short enough not to stall the store (Redis runs one
 * script at a time). Both twins count their sweep batches in it.
 */
export const PRESENCE_BATCH = 500;

/** Answer of {@link IMPresence.route}. */
export interface PresenceRoute {
  /** Per item, in order: the node its request was published to, or undefined (online on no other live node: not sent). */
  nodes: Array<string | undefined>;
  /** Per node published to: how many listened on its channel (0: nobody, the node is gone). */
  receivers: Map<string, number>;
}

/**
 * Cluster-wide presence as one node of the cluster sees it: user id → the node, session and
 * `firstLoginTime` the user is online with, a set of users per node (so that a node's entries can
 * be cleaned up after it), a list of nodes, and each node's liveness (a deadline it renews).
 * An instance is bound to one node id ("this node"). Twins, one contract
 * (`test/unit/presence.spec.ts`): `RedisPresence` (shared by processes through Redis) and
 * `MemoryPresence` (nodes in one process sharing a `MemoryClusterHub`).
 *
 * What the cluster relies on:
 * - a claim is one atomic step that returns the entry it replaced: of two claims at once, the one
 *   applied last wins and names the session it replaced, so the duplicate-login request goes to
 *   exactly that session (its `firstLoginTime` decides, the order of claims breaks ties);
 * - an entry is removed only by the session that holds it (release) or with a dead node (sweep);
 * - entries of a node whose liveness lapsed are ignored by lookups and routing but left in place
 *   (the node may only have been paused, and renews without re-asserting), until swept;
 * - everything this node holds can be written back at any time (reassert) without taking entries
 *   that another live node claimed meanwhile;
 * - this node's calls take effect in the order they are made (a twin may batch them): a release
 *   never overtakes its claim, and `ownCount` counts every claim made before it.
 * Methods reject only when the store cannot be reached; they never throw synchronously.
 */
export interface IMPresence {
  /** Renews this node's liveness for `ttlMs`; false if it had lapsed or was gone (the store lost it, or this node was paused). */
  renew(ttlMs: number): Promise<boolean>;
  /** Withdraws this node's liveness (shutdown): its entries are ignored from now on. */
  withdraw(): Promise<void>;
  /** Records the user's session on this node and returns the entry it replaced, if any, in one step. */
  claim(userId: string, entry: PresenceEntry): Promise<PresenceEntry | undefined>;
  /** Puts back `previous`, which the refused login `mine` had replaced, unless another claim replaced `mine` since. */
  restore(userId: string, mine: PresenceEntry, previous: PresenceEntry): Promise<void>;
  /** Removes the user's entry if it is still this node's session `sessionId`; the user leaves this node's set either way. */
  release(userId: string, sessionId: number): Promise<void>;
  /** Takes the user out of this node's set only (its entry already belongs to another node). */
  forget(userId: string): Promise<void>;
  /** Where each user is online, on a live node; one answer per id, in order (an id may repeat). */
  lookupMany(userIds: string[]): Promise<Array<PresenceEntry | undefined>>;
  /**
   * The cross-node send path in one step: looks up each item's recipient (`[recipient, request
   * JSON]`) and publishes the requests, in order, to the channel of each other live node holding
   * one, as one message per node: `head` + the requests joined by `,` + `]}`.
   */
  route(items: Array<[string, string]>, head: string): Promise<PresenceRoute>;
  /**
   * Writes this node's sessions back where they are missing, this node's, or of a node whose
   * liveness lapsed (the store restarted empty, entries dropped while this node was paused), and
   * lists this node among the nodes. Returns the entries held by another live node instead: the
   * same user logged in there meanwhile.
   */
  reassert(sessions: Array<[string, PresenceEntry]>): Promise<Array<[string, PresenceEntry]>>;
  /**
   * Removes the entries and the keys of nodes whose liveness lapsed (or was never written), in
   * batches of {@link PRESENCE_BATCH} users, at most `maxBatches`. Returns the batches run.
   */
  sweep(maxBatches: number): Promise<number>;
  /** Users in this node's set. */
  ownCount(): Promise<number>;
  /** Users online in the whole cluster: the users of the listed nodes whose liveness has not lapsed. */
  count(): Promise<number>;
  /** Removes every entry this node holds, its set, and it from the list of nodes (start-up after a crash, shutdown). */
  clearOwn(): Promise<void>;
}
