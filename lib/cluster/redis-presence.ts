import type Redis from 'ioredis';
import type { PresenceEntry } from './presence-entry';

// Entries are "node|session|firstLoginTime"; the node id may itself contain '|', the rest may not.

// Set the user's entry and return the previous one, in one step.
const CLAIM = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return old`;
// Remove the user's entry only if it is still this session's (ARGV[2] = "node|session|").
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
if cur and string.sub(cur, 1, string.len(ARGV[2])) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0`;
// Put back the entry a refused login replaced, unless another claim came since.
const RESTORE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`;
// The user's entry, unless its node is gone (or the entry unreadable), in which case the entry is
// dropped (a node that was only paused re-asserts its entries).
const LOOKUP = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return nil end
local node = string.match(cur, '^(.*)|[^|]*|[^|]*$')
if node and redis.call('EXISTS', ARGV[2] .. node) == 1 then return cur end
redis.call('HDEL', KEYS[1], ARGV[1])
return nil`;
// LOOKUP for many users at once (ARGV[1]: alive prefix, then the users): their entries, false where none.
const LOOKUP_MANY = `
local out, live = {}, {}
for i = 2, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local found = false
  if cur then
    local node = string.match(cur, '^(.*)|[^|]*|[^|]*$')
    if node then
      if live[node] == nil then live[node] = redis.call('EXISTS', ARGV[1] .. node) == 1 end
      if live[node] then found = cur end
    end
    if not found then redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
  out[#out + 1] = found
end
return out`;
// Re-asserts this node's sessions (ARGV: alive prefix, node id, then user/entry pairs): written
// where the entry is missing, this node's, or of a node that is gone; the others are returned
// as user/entry pairs for the duplicate-login rules.
const ASSERT = `
local conflicts = {}
for i = 3, #ARGV, 2 do
  local user, entry = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], user)
  local node = cur and string.match(cur, '^(.*)|[^|]*|[^|]*$')
  if cur == false or node == nil or node == ARGV[2] or redis.call('EXISTS', ARGV[1] .. node) == 0 then
    if cur ~= entry then redis.call('HSET', KEYS[1], user, entry) end
    redis.call('SADD', KEYS[2], user)
  else
    conflicts[#conflicts + 1] = user
    conflicts[#conflicts + 1] = cur
  end
end
return conflicts`;

// Removes one batch of the entries of a node that is gone (liveness key expired), then forgets the
// node once its set is empty. ARGV: key prefix, batch size. Returns 1 if it found work, 0 if none.
const SWEEP = `
for _, node in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. node) == 0 then
    local users = ARGV[1] .. 'users:' .. node
    for _, user in ipairs(redis.call('SPOP', users, tonumber(ARGV[2]))) do
      local cur = redis.call('HGET', KEYS[1], user)
      if cur and string.match(cur, '^(.*)|[^|]*|[^|]*$') == node then redis.call('HDEL', KEYS[1], user) end
    end
    if redis.call('EXISTS', users) == 0 then redis.call('SREM', KEYS[2], node) end
    return 1
  end
end
return 0`;

/** Users re-asserted per script call: long enough to save round trips, short enough not to stall Redis. */
const ASSERT_BATCH = 500;

/**
 * Cluster-wide presence in Redis: user id → "node|session|firstLoginTime" in one hash,
 * plus a set of users per node so a node can clean up after itself.
 */
export class RedisPresence {
  private readonly hash: string;
  private readonly nodes: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly nodeId: string,
  ) {
    this.hash = `${prefix}presence`;
    this.nodes = `${prefix}nodes`;
    redis.defineCommand('imClaim', { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand('imRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('imRestore', { numberOfKeys: 1, lua: RESTORE });
    redis.defineCommand('imLookup', { numberOfKeys: 1, lua: LOOKUP });
    redis.defineCommand('imLookupMany', { numberOfKeys: 1, lua: LOOKUP_MANY });
    redis.defineCommand('imAssert', { numberOfKeys: 2, lua: ASSERT });
    redis.defineCommand('imSweep', { numberOfKeys: 2, lua: SWEEP });
  }

  /** Key of a node's liveness marker. */
  aliveKey(nodeId: string): string {
    return `${this.prefix}alive:${nodeId}`;
  }

  /** Key of the set of users a node holds. */
  usersKey(nodeId: string): string {
    return `${this.prefix}users:${nodeId}`;
  }

  /** Records the user's session on this node; returns where it was before, if anywhere. */
  async claim(userId: string, entry: PresenceEntry): Promise<PresenceEntry | undefined> {
    return parsePresence(await this.cmd('imClaim', this.hash, this.usersKey(this.nodeId), userId, formatPresence(entry)));
  }

  /** Puts back an entry that a refused login (`mine`) had replaced, if nothing replaced `mine` since. */
  async restore(userId: string, mine: PresenceEntry, previous: PresenceEntry): Promise<void> {
    await this.cmd('imRestore', this.hash, userId, formatPresence(mine), formatPresence(previous));
  }

  /** Removes the user's entry if it is still this session's; the user leaves this node's set either way. */
  async release(userId: string, sessionId: number): Promise<void> {
    await this.cmd('imRelease', this.hash, this.usersKey(this.nodeId), userId, `${this.nodeId}|${sessionId}|`);
  }

  /** Takes the user out of this node's set only (its entry already belongs to another node). */
  async forget(userId: string): Promise<void> {
    await this.redis.srem(this.usersKey(this.nodeId), userId);
  }

  /** Where the user is online, on a live node. */
  async lookup(userId: string): Promise<PresenceEntry | undefined> {
    return parsePresence(await this.cmd('imLookup', this.hash, userId, `${this.prefix}alive:`));
  }

  /** Where each user is online, on a live node (the same user may be asked for more than once). */
  async lookupMany(userIds: string[]): Promise<Array<PresenceEntry | undefined>> {
    const index = new Map<string, number>();
    const unique: string[] = [];
    for (const u of userIds) if (!index.has(u)) index.set(u, unique.push(u) - 1);
    const found = (await (this.redis as unknown as Record<string, (...a: string[]) => Promise<Array<string | null>>>).imLookupMany(
      this.hash, `${this.prefix}alive:`, ...unique,
    )) ?? [];
    const entries = unique.map((_, i) => parsePresence(found[i] ?? null));
    return userIds.map((u) => entries[index.get(u) as number]);
  }

  /**
   * Writes this node's sessions back where they are missing (Redis restarted empty, entries
   * dropped while this node was paused), in batches issued together (one round trip's wait).
   * Returns the entries held by another live node: the same user logged in there meanwhile.
   */
  async reassert(sessions: Array<[string, PresenceEntry]>): Promise<Array<[string, PresenceEntry]>> {
    // Listed among the nodes, so that its entries are swept if it dies.
    const batches: Promise<unknown>[] = [this.redis.sadd(this.nodes, this.nodeId)];
    for (let i = 0; i < sessions.length; i += ASSERT_BATCH) {
      const args = [this.hash, this.usersKey(this.nodeId), `${this.prefix}alive:`, this.nodeId];
      for (const [userId, entry] of sessions.slice(i, i + ASSERT_BATCH)) args.push(userId, formatPresence(entry));
      batches.push(this.cmd('imAssert', ...args) as unknown as Promise<string[]>);
    }
    const conflicts: Array<[string, PresenceEntry]> = [];
    for (const found of (await Promise.all(batches)).slice(1) as string[][]) {
      for (let i = 0; i < found.length; i += 2) conflicts.push([found[i], parsePresence(found[i + 1]) as PresenceEntry]);
    }
    return conflicts;
  }

  /**
   * Removes the entries and keys of nodes whose liveness lapsed, in batches of ASSERT_BATCH users
   * (each a short script), at most `maxBatches` of them. Returns the batches run.
   */
  async sweep(maxBatches: number): Promise<number> {
    let batches = 0;
    while (batches < maxBatches && (await this.cmd('imSweep', this.hash, this.nodes, this.prefix, String(ASSERT_BATCH))) === (1 as unknown)) batches++;
    return batches;
  }

  /** Users in this node's set. */
  ownCount(): Promise<number> {
    return this.redis.scard(this.usersKey(this.nodeId));
  }

  /** Users online in the whole cluster: the users of the nodes whose liveness has not lapsed. */
  async count(): Promise<number> {
    const nodes = await this.redis.smembers(this.nodes);
    if (nodes.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const node of nodes) pipeline.exists(this.aliveKey(node)).scard(this.usersKey(node));
    const replies = (await pipeline.exec()) ?? [];
    let total = 0;
    for (let i = 0; i < replies.length; i += 2) {
      const [aliveErr, alive] = replies[i];
      const [countErr, users] = replies[i + 1];
      if (aliveErr || countErr) throw aliveErr ?? countErr;
      if (alive === 1) total += users as number;
    }
    return total;
  }

  /** Removes every entry this node holds (start-up after a crash, shutdown). */
  async clearOwn(): Promise<void> {
    const users = await this.redis.smembers(this.usersKey(this.nodeId));
    // Any session of this node: a prefix of the node id alone.
    await Promise.all(users.map((userId) => this.cmd('imRelease', this.hash, this.usersKey(this.nodeId), userId, `${this.nodeId}|`)));
    await this.redis.del(this.usersKey(this.nodeId));
    await this.redis.srem(this.nodes, this.nodeId);
  }

  private cmd(name: string, ...args: string[]): Promise<string | null> {
    return (this.redis as unknown as Record<string, (...a: string[]) => Promise<string | null>>)[name](...args);
  }
}

/** The hash value of an entry: "node|session|firstLoginTime" (the node id may contain '|'). */
export function formatPresence(entry: PresenceEntry): string {
  return `${entry.nodeId}|${entry.sessionId}|${entry.firstLoginTime}`;
}

/** Reads a hash value written by {@link formatPresence}; undefined for none. */
export function parsePresence(value: string | null): PresenceEntry | undefined {
  if (!value) return undefined;
  const last = value.lastIndexOf('|');
  const mid = value.lastIndexOf('|', last - 1);
  return { nodeId: value.slice(0, mid), sessionId: Number(value.slice(mid + 1, last)), firstLoginTime: Number(value.slice(last + 1)) };
}
