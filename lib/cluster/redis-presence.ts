import type { Cluster, Redis } from 'ioredis';
import type { PresenceEntry } from './presence-entry';
import { IMPresence, PRESENCE_BATCH, PresenceRoute } from './presence';

// Entries are "node|session|firstLoginTime"; the node id may itself contain '|', the rest may not.
// Every key carries one hash tag and every script declares the keys it touches, so the scripts run
// on a Redis Cluster as on a single Redis (all of one prefix lives in one slot).
// Liveness is one sorted set: node → the Redis time (ms) its liveness lapses; scripts read Redis's
// own clock (TIME), so the nodes' clocks never matter.

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const NODE_OF = `local function nodeOf(entry) return string.match(entry, '^(.*)|[^|]*|[^|]*$') end`;
// KEYS[n] is the liveness set.
const LIVE = (aliveKey: string) => `local live = {}
local function isLive(node)
  if live[node] == nil then
    local lapses = redis.call('ZSCORE', ${aliveKey}, node)
    live[node] = lapses ~= false and tonumber(lapses) > now
  end
  return live[node]
end`;

// KEYS: presence, this node's users. ARGV: user/entry pairs. Sets each user's entry and returns the
// previous ones (false where none), in one step each, in order.
const CLAIM = `
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i])
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('SADD', KEYS[2], ARGV[i])
end
return out`;
// KEYS: presence, this node's users. Remove the user's entry only if it is still this session's
// (ARGV[2] = "node|session|", ARGV[3] = "0") or, for clearOwn, any of this node's (ARGV[2] = "node|",
// ARGV[3] = "1"). ARGV[3] is how many '|' the rest of the entry holds: node ids may contain '|', so
// the entry "n|7|1|t" of node "n|7" also begins with node "n"'s "n|7|" and "n|".
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
local n = string.len(ARGV[2])
if cur and string.sub(cur, 1, n) == ARGV[2] and select(2, string.gsub(string.sub(cur, n + 1), '|', '')) == tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0`;
// KEYS: presence. Put back the entry a refused login replaced, unless another claim came since.
const RESTORE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`;
// KEYS: presence, liveness. The users' (ARGV) entries, false where none or where the node's liveness
// lapsed. Such an entry is left alone: the node may only have been paused, and renews its liveness
// without re-asserting what it still holds (the sweep removes a dead node's entries with its user
// set). An unreadable entry is dropped.
const LOOKUP = `${NOW}
${NODE_OF}
${LIVE('KEYS[2]')}
local out = {}
for i = 1, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local found = false
  if cur then
    local node = nodeOf(cur)
    if not node then redis.call('HDEL', KEYS[1], ARGV[i]) elseif isLive(node) then found = cur end
  end
  out[#out + 1] = found
end
return out`;
// KEYS: presence, liveness. ARGV: this node, the channel prefix, the envelope head, then recipient /
// request pairs. Looks each recipient up (as LOOKUP: a lapsed node's entry is ignored) and publishes each other node's requests, in
// order, as one envelope. Returns, per request, the number of the node it went to (0: none), then
// node / listener-count pairs in that numbering.
const ROUTE = (publish: string) => `${NOW}
${NODE_OF}
${LIVE('KEYS[2]')}
local byNode, order, went, targetOf = {}, {}, {}, {}
for i = 4, #ARGV, 2 do
  local user = ARGV[i]
  local target = targetOf[user]
  if target == nil then
    -- Once per recipient: a batch holds many messages to the same few users.
    target = 0
    local cur = redis.call('HGET', KEYS[1], user)
    if cur then
      local node = nodeOf(cur)
      if not node then
        redis.call('HDEL', KEYS[1], user)
      elseif node ~= ARGV[1] and isLive(node) then
        if not byNode[node] then
          byNode[node] = {}
          order[#order + 1] = node
        end
        for n, known in ipairs(order) do if known == node then target = n end end
      end
    end
    targetOf[user] = target
  end
  if target > 0 then
    local list = byNode[order[target]]
    list[#list + 1] = ARGV[i + 1]
  end
  went[#went + 1] = target
end
local heard = {}
for _, node in ipairs(order) do
  heard[#heard + 1] = node
  heard[#heard + 1] = redis.call('${publish}', ARGV[2] .. node, ARGV[3] .. table.concat(byNode[node], ',') .. ']}')
end
return {went, heard}`;
// KEYS: presence, this node's users, liveness. ARGV: node id, then user/entry pairs. Re-asserts this
// node's sessions: written where the entry is missing, this node's, or of a node that is gone; the
// others are returned as user/entry pairs for the duplicate-login rules.
const ASSERT = `${NOW}
${NODE_OF}
${LIVE('KEYS[3]')}
local conflicts = {}
for i = 2, #ARGV, 2 do
  local user, entry = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], user)
  local node = cur and nodeOf(cur)
  if cur == false or node == nil or node == ARGV[1] or not isLive(node) then
    if cur ~= entry then redis.call('HSET', KEYS[1], user, entry) end
    redis.call('SADD', KEYS[2], user)
  else
    conflicts[#conflicts + 1] = user
    conflicts[#conflicts + 1] = cur
  end
end
return conflicts`;
// KEYS: liveness. ARGV: node id, TTL ms. Renews the node's liveness; 1 if it had not lapsed, else 0.
const RENEW = `${NOW}
local lapses = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if lapses ~= false and tonumber(lapses) > now then return 1 end
return 0`;
// KEYS: node list, liveness. The listed nodes whose liveness lapsed (or was never written), and
// nodes in the liveness set only whose liveness lapsed.
const DEAD = `${NOW}
${LIVE('KEYS[2]')}
local dead, seen = {}, {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  seen[node] = true
  if not isLive(node) then dead[#dead + 1] = node end
end
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  if not seen[node] then dead[#dead + 1] = node end
end
return dead`;
// KEYS: presence, the node's users, node list, liveness. ARGV: node id, batch size. Removes one batch
// of a dead node's entries; once its set is empty, forgets the node. 1 if more remain.
const SWEEP = `${NOW}
${NODE_OF}
local lapses = redis.call('ZSCORE', KEYS[4], ARGV[1])
if lapses ~= false and tonumber(lapses) > now then return 0 end
for _, user in ipairs(redis.call('SPOP', KEYS[2], tonumber(ARGV[2]))) do
  local cur = redis.call('HGET', KEYS[1], user)
  if cur and nodeOf(cur) == ARGV[1] then redis.call('HDEL', KEYS[1], user) end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 0`;
// KEYS: liveness, then the user sets of the nodes in ARGV (same order). Users of the live ones.
const COUNT = `${NOW}
${LIVE('KEYS[1]')}
local total = 0
for i = 1, #ARGV do
  if isLive(ARGV[i]) then total = total + redis.call('SCARD', KEYS[i + 1]) end
end
return total`;

/** Claims per script call at most (a login burst in one turn of the event loop). */
const CLAIM_BATCH = 500;

interface PendingClaim {
  readonly userId: string;
  readonly entry: string;
  readonly resolve: (previous: PresenceEntry | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/** A single Redis or a Redis Cluster client. */
export type RedisClient = Redis | Cluster;

/** The keys and channels of one key prefix: every one carries the same hash tag. */
export class ClusterKeys {
  /** The prefix with its hash tag: the prefix itself if it has one (`{…}`), else the prefix in braces. */
  readonly tagged: string;
  readonly presence: string;
  readonly nodes: string;
  readonly alive: string;

  constructor(prefix: string) {
    this.tagged = /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
    this.presence = `${this.tagged}presence`;
    this.nodes = `${this.tagged}nodes`;
    this.alive = `${this.tagged}alive`;
  }

  /** The set of users a node holds. */
  users(nodeId: string): string {
    return `${this.tagged}users:${nodeId}`;
  }

  /** The pub/sub channel a node listens on (sharded pub/sub on a Redis Cluster: the same slot as the keys). */
  channel(nodeId: string): string {
    return `${this.tagged}node:${nodeId}`;
  }
}

type Scripted = Record<string, (...args: string[]) => Promise<unknown>>;

/**
 * Cluster-wide presence in Redis: user id → "node|session|firstLoginTime" in one hash,
 * a set of users per node so a node can clean up after itself, a list of nodes, and the
 * nodes' liveness. Each step is one Lua script, so it is atomic across the nodes; its twin
 * is `MemoryPresence`.
 */
export class RedisPresence implements IMPresence {
  /**
   * Claims made this turn of the event loop, sent as one script call: a login costs the node a
   * socket write to Redis otherwise (about 100 µs of CPU each at 1,000 logins/s). Every other
   * command flushes them first, so Redis sees this node's commands in the order they were made.
   */
  private claims: PendingClaim[] = [];
  private claimsScheduled = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    private readonly nodeId: string,
    /** Sharded pub/sub (Redis Cluster): SPUBLISH. */
    sharded = false,
  ) {
    redis.defineCommand('imRoute', { numberOfKeys: 2, lua: ROUTE(sharded ? 'SPUBLISH' : 'PUBLISH') });
    const scripts: Array<[string, number, string]> = [
      ['imClaim', 2, CLAIM], ['imRelease', 2, RELEASE], ['imRestore', 1, RESTORE], ['imLookup', 2, LOOKUP],
      ['imAssert', 3, ASSERT], ['imRenew', 1, RENEW], ['imDead', 2, DEAD], ['imSweep', 4, SWEEP],
    ];
    for (const [name, numberOfKeys, lua] of scripts) redis.defineCommand(name, { numberOfKeys, lua });
    // COUNT declares as many keys as there are nodes: the count goes first.
    redis.defineCommand('imCount', { lua: COUNT });
  }

  /** Renews this node's liveness for `ttlMs`; false if it had lapsed or was gone (Redis lost it, or this node was paused). */
  async renew(ttlMs: number): Promise<boolean> {
    return (await this.cmd('imRenew', this.keys.alive, this.nodeId, String(ttlMs))) === 1;
  }

  /** Withdraws this node's liveness (shutdown). */
  async withdraw(): Promise<void> {
    this.flushClaims();
    await this.redis.zrem(this.keys.alive, this.nodeId);
  }

  /** Records the user's session on this node; returns where it was before, if anywhere. Sent with the other claims of this turn. */
  claim(userId: string, entry: PresenceEntry): Promise<PresenceEntry | undefined> {
    return new Promise((resolve, reject) => {
      this.claims.push({ userId, entry: formatPresence(entry), resolve, reject });
      if (this.claimsScheduled) return;
      this.claimsScheduled = true;
      setImmediate(() => {
        this.claimsScheduled = false;
        this.flushClaims();
      });
    });
  }

  /** Sends the claims made so far, in order. */
  private flushClaims(): void {
    if (this.claims.length === 0) return;
    const all = this.claims;
    this.claims = [];
    for (let i = 0; i < all.length; i += CLAIM_BATCH) {
      const batch = all.slice(i, i + CLAIM_BATCH);
      const args = [this.keys.presence, this.keys.users(this.nodeId)];
      for (const c of batch) args.push(c.userId, c.entry);
      this.send('imClaim', args).then(
        (previous) => batch.forEach((c, j) => c.resolve(parsePresence((previous as Array<string | null>)[j] ?? null))),
        (err) => batch.forEach((c) => c.reject(err)),
      );
    }
  }

  /** Puts back an entry that a refused login (`mine`) had replaced, if nothing replaced `mine` since. */
  async restore(userId: string, mine: PresenceEntry, previous: PresenceEntry): Promise<void> {
    await this.cmd('imRestore', this.keys.presence, userId, formatPresence(mine), formatPresence(previous));
  }

  /** Removes the user's entry if it is still this session's; the user leaves this node's set either way. */
  async release(userId: string, sessionId: number): Promise<void> {
    await this.cmd('imRelease', this.keys.presence, this.keys.users(this.nodeId), userId, `${this.nodeId}|${sessionId}|`, '0');
  }

  /** Takes the user out of this node's set only (its entry already belongs to another node). */
  async forget(userId: string): Promise<void> {
    this.flushClaims();
    await this.redis.srem(this.keys.users(this.nodeId), userId);
  }

  /** Where each user is online, on a live node (the same user may be asked for more than once). */
  async lookupMany(userIds: string[]): Promise<Array<PresenceEntry | undefined>> {
    const index = new Map<string, number>();
    const unique: string[] = [];
    for (const u of userIds) if (!index.has(u)) index.set(u, unique.push(u) - 1);
    const found = ((await this.cmd('imLookup', this.keys.presence, this.keys.alive, ...unique)) ?? []) as Array<string | null>;
    const entries = unique.map((_, i) => parsePresence(found[i] ?? null));
    return userIds.map((u) => entries[index.get(u) as number]);
  }

  /**
   * Looks up each recipient and publishes the requests (`[recipient, request JSON]`, in order) to
   * their nodes, one envelope per node that starts with `head`. Returns where each went (undefined:
   * online on no other live node, not sent) and how many listened on each node's channel.
   */
  async route(items: Array<[string, string]>, head: string): Promise<PresenceRoute> {
    const args = [this.keys.presence, this.keys.alive, this.nodeId, this.keys.channel(''), head];
    for (const [to, request] of items) args.push(to, request);
    const [went, heard] = (await this.cmd('imRoute', ...args)) as [number[], Array<string | number>];
    const receivers = new Map<string, number>();
    const order: string[] = [];
    for (let i = 0; i < heard.length; i += 2) {
      order.push(heard[i] as string);
      receivers.set(heard[i] as string, Number(heard[i + 1]));
    }
    return { nodes: went.map((n) => (n > 0 ? order[n - 1] : undefined)), receivers };
  }

  /**
   * Writes this node's sessions back where they are missing (Redis restarted empty, entries
   * dropped while this node was paused), in batches issued together (one round trip's wait).
   * Returns the entries held by another live node: the same user logged in there meanwhile.
   */
  async reassert(sessions: Array<[string, PresenceEntry]>): Promise<Array<[string, PresenceEntry]>> {
    this.flushClaims();
    // Listed among the nodes, so that its entries are swept if it dies.
    const batches: Promise<unknown>[] = [this.redis.sadd(this.keys.nodes, this.nodeId)];
    for (let i = 0; i < sessions.length; i += PRESENCE_BATCH) {
      const args = [this.keys.presence, this.keys.users(this.nodeId), this.keys.alive, this.nodeId];
      for (const [userId, entry] of sessions.slice(i, i + PRESENCE_BATCH)) args.push(userId, formatPresence(entry));
      batches.push(this.cmd('imAssert', ...args));
    }
    const conflicts: Array<[string, PresenceEntry]> = [];
    for (const found of (await Promise.all(batches)).slice(1) as string[][]) {
      for (let i = 0; i < found.length; i += 2) conflicts.push([found[i], parsePresence(found[i + 1]) as PresenceEntry]);
    }
    return conflicts;
  }

  /**
   * Removes the entries and keys of nodes whose liveness lapsed, in batches of PRESENCE_BATCH users
   * (each a short script), at most `maxBatches` of them. Returns the batches run.
   */
  async sweep(maxBatches: number): Promise<number> {
    const dead = (await this.cmd('imDead', this.keys.nodes, this.keys.alive)) as string[];
    let batches = 0;
    for (const node of dead) {
      const keys = [this.keys.presence, this.keys.users(node), this.keys.nodes, this.keys.alive];
      for (let more = true; more && batches < maxBatches; batches++) more = (await this.cmd('imSweep', ...keys, node, String(PRESENCE_BATCH))) === 1;
    }
    return batches;
  }

  /** Users in this node's set. */
  ownCount(): Promise<number> {
    this.flushClaims();
    return this.redis.scard(this.keys.users(this.nodeId));
  }

  /** Users online in the whole cluster: the users of the nodes whose liveness has not lapsed. */
  async count(): Promise<number> {
    this.flushClaims();
    const nodes = await this.redis.smembers(this.keys.nodes);
    if (nodes.length === 0) return 0;
    return (await this.cmd('imCount', String(nodes.length + 1), this.keys.alive, ...nodes.map((n) => this.keys.users(n)), ...nodes)) as number;
  }

  /** Removes every entry this node holds (start-up after a crash, shutdown). */
  async clearOwn(): Promise<void> {
    this.flushClaims();
    const users = await this.redis.smembers(this.keys.users(this.nodeId));
    // Any session of this node: a prefix of the node id alone.
    await Promise.all(users.map((userId) => this.cmd('imRelease', this.keys.presence, this.keys.users(this.nodeId), userId, `${this.nodeId}|`, '1')));
    await this.redis.del(this.keys.users(this.nodeId));
    await this.redis.srem(this.keys.nodes, this.nodeId);
  }

  private cmd(name: string, ...args: string[]): Promise<unknown> {
    this.flushClaims();
    return this.send(name, args);
  }

  private send(name: string, args: string[]): Promise<unknown> {
    return (this.redis as unknown as Scripted)[name](...args);
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
