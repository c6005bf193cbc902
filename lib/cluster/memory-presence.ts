import type { Clock } from '../core/clock';
import { IMPresence, PRESENCE_BATCH, PresenceRoute } from './presence';
import type { PresenceEntry } from './presence-entry';

/** A listener on a channel of a {@link MemoryClusterHub}. */
export type MemoryChannelListener = (text: string) => void;

/**
 * What a Redis is to the nodes of a cluster, in one process: presence (the user → entry map, each
 * node's set of users, the list of nodes, the nodes' liveness deadlines) and pub/sub channels.
 * Give one hub to every node that should form one cluster; its clock decides liveness (a
 * `ManualClock` lets a test make a node's liveness lapse without waiting).
 */
export class MemoryClusterHub {
  /** @internal user id → where the user is online. */
  readonly entries = new Map<string, PresenceEntry>();
  /** @internal node id → the users it holds. */
  readonly users = new Map<string, Set<string>>();
  /** @internal Nodes that asserted their presence (their entries are swept when they die). */
  readonly nodes = new Set<string>();
  /** @internal node id → the time (ms, this hub's clock) its liveness lapses. */
  readonly alive = new Map<string, number>();
  private readonly channels = new Map<string, Set<MemoryChannelListener>>();

  constructor(readonly clock: Pick<Clock, 'now'> = { now: () => Date.now() }) {}

  /** Listens on a channel until the returned function is called. */
  subscribe(channel: string, listener: MemoryChannelListener): () => void {
    let listeners = this.channels.get(channel);
    if (!listeners) this.channels.set(channel, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.channels.get(channel) === listeners) this.channels.delete(channel);
    };
  }

  /**
   * Publishes `text` to the channel's listeners and returns how many there are, as Redis' PUBLISH.
   * Delivered on a later turn of the event loop (never inside the publisher's call), in the order
   * published.
   */
  publish(channel: string, text: string): number {
    const listeners = this.channels.get(channel);
    if (!listeners || listeners.size === 0) return 0;
    const targets = [...listeners];
    setImmediate(() => {
      for (const listener of targets) listener(text);
    });
    return targets.length;
  }

  /** Forgets all presence, as a Redis restarted empty (subscriptions stay: they are connections, not data). */
  wipe(): void {
    this.entries.clear();
    this.users.clear();
    this.nodes.clear();
    this.alive.clear();
  }

  /** @internal Whether the node's liveness has not lapsed. */
  isLive(nodeId: string, now = this.clock.now()): boolean {
    const lapses = this.alive.get(nodeId);
    return lapses !== undefined && lapses > now;
  }

  /** @internal The node's set of users, created on first use. */
  usersOf(nodeId: string): Set<string> {
    let set = this.users.get(nodeId);
    if (!set) this.users.set(nodeId, (set = new Set()));
    return set;
  }
}

/**
 * The in-memory twin of `RedisPresence`: the same steps on a {@link MemoryClusterHub} shared by
 * the nodes of one process. Each step runs synchronously inside the call, so, as a Lua script on
 * Redis, it is atomic with respect to every other node's steps.
 */
export class MemoryPresence implements IMPresence {
  constructor(
    private readonly hub: MemoryClusterHub,
    private readonly nodeId: string,
  ) {}

  async renew(ttlMs: number): Promise<boolean> {
    const now = this.hub.clock.now();
    const wasLive = this.hub.isLive(this.nodeId, now);
    this.hub.alive.set(this.nodeId, now + ttlMs);
    return wasLive;
  }

  async withdraw(): Promise<void> {
    this.hub.alive.delete(this.nodeId);
  }

  async claim(userId: string, entry: PresenceEntry): Promise<PresenceEntry | undefined> {
    const old = this.hub.entries.get(userId);
    this.hub.entries.set(userId, { ...entry });
    this.hub.usersOf(this.nodeId).add(userId);
    return old && { ...old };
  }

  async restore(userId: string, mine: PresenceEntry, previous: PresenceEntry): Promise<void> {
    const cur = this.hub.entries.get(userId);
    if (cur && sameEntry(cur, mine)) this.hub.entries.set(userId, { ...previous });
  }

  async release(userId: string, sessionId: number): Promise<void> {
    this.hub.users.get(this.nodeId)?.delete(userId);
    const cur = this.hub.entries.get(userId);
    if (cur && cur.nodeId === this.nodeId && cur.sessionId === sessionId) this.hub.entries.delete(userId);
  }

  async forget(userId: string): Promise<void> {
    this.hub.users.get(this.nodeId)?.delete(userId);
  }

  async lookupMany(userIds: string[]): Promise<Array<PresenceEntry | undefined>> {
    const now = this.hub.clock.now();
    return userIds.map((userId) => {
      const cur = this.hub.entries.get(userId);
      return cur && this.hub.isLive(cur.nodeId, now) ? { ...cur } : undefined;
    });
  }

  async route(items: Array<[string, string]>, head: string): Promise<PresenceRoute> {
    const now = this.hub.clock.now();
    const byNode = new Map<string, string[]>();
    // Once per recipient, as the Redis script: a batch holds many messages to the same few users.
    const targetOf = new Map<string, string | undefined>();
    const nodes = items.map(([to, request]) => {
      let target: string | undefined;
      if (targetOf.has(to)) target = targetOf.get(to);
      else {
        const cur = this.hub.entries.get(to);
        target = cur && cur.nodeId !== this.nodeId && this.hub.isLive(cur.nodeId, now) ? cur.nodeId : undefined;
        targetOf.set(to, target);
      }
      if (target !== undefined) {
        let list = byNode.get(target);
        if (!list) byNode.set(target, (list = []));
        list.push(request);
      }
      return target;
    });
    const receivers = new Map<string, number>();
    for (const [node, requests] of byNode) receivers.set(node, this.hub.publish(node, head + requests.join(',') + ']}'));
    return { nodes, receivers };
  }

  async reassert(sessions: Array<[string, PresenceEntry]>): Promise<Array<[string, PresenceEntry]>> {
    const now = this.hub.clock.now();
    this.hub.nodes.add(this.nodeId);
    const mine = this.hub.usersOf(this.nodeId);
    const conflicts: Array<[string, PresenceEntry]> = [];
    for (const [userId, entry] of sessions) {
      const cur = this.hub.entries.get(userId);
      if (!cur || cur.nodeId === this.nodeId || !this.hub.isLive(cur.nodeId, now)) {
        this.hub.entries.set(userId, { ...entry });
        mine.add(userId);
      } else {
        conflicts.push([userId, { ...cur }]);
      }
    }
    return conflicts;
  }

  async sweep(maxBatches: number): Promise<number> {
    const now = this.hub.clock.now();
    const dead = [...this.hub.nodes].filter((node) => !this.hub.isLive(node, now));
    for (const [node, lapses] of this.hub.alive) if (lapses <= now && !this.hub.nodes.has(node)) dead.push(node);
    let batches = 0;
    for (const node of dead) {
      for (let more = true; more && batches < maxBatches; batches++) more = this.sweepBatch(node, now);
    }
    return batches;
  }

  async ownCount(): Promise<number> {
    return this.hub.users.get(this.nodeId)?.size ?? 0;
  }

  async count(): Promise<number> {
    const now = this.hub.clock.now();
    let total = 0;
    for (const node of this.hub.nodes) if (this.hub.isLive(node, now)) total += this.hub.users.get(node)?.size ?? 0;
    return total;
  }

  async clearOwn(): Promise<void> {
    for (const userId of this.hub.users.get(this.nodeId) ?? []) {
      if (this.hub.entries.get(userId)?.nodeId === this.nodeId) this.hub.entries.delete(userId);
    }
    this.hub.users.delete(this.nodeId);
    this.hub.nodes.delete(this.nodeId);
  }

  /** One batch of a dead node's entries; once its set is empty, the node is forgotten. True if more remain. */
  private sweepBatch(node: string, now: number): boolean {
    // It came back meanwhile (an earlier batch of this sweep): leave it.
    if (this.hub.isLive(node, now)) return false;
    const users = this.hub.users.get(node);
    if (users) {
      let taken = 0;
      for (const userId of users) {
        if (taken++ === PRESENCE_BATCH) break;
        users.delete(userId);
        if (this.hub.entries.get(userId)?.nodeId === node) this.hub.entries.delete(userId);
      }
      if (users.size > 0) return true;
      this.hub.users.delete(node);
    }
    this.hub.nodes.delete(node);
    this.hub.alive.delete(node);
    return false;
  }
}

function sameEntry(a: PresenceEntry, b: PresenceEntry): boolean {
  return a.nodeId === b.nodeId && a.sessionId === b.sessionId && a.firstLoginTime === b.firstLoginTime;
}
