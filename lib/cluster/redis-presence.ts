import type Redis from 'ioredis';
import type { PresenceEntry } from './presence-entry';

// Set the user's entry and return the previous one, in one step.
const CLAIM = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return old`;
// Remove the user's entry only if it is still this node's.
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
if cur and string.sub(cur, 1, string.len(ARGV[2]) + 1) == ARGV[2] .. '|' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0`;
// The user's entry, unless its node is gone, in which case the entry is dropped.
const LOOKUP = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return nil end
local node = string.match(cur, '^(.*)|')
if redis.call('EXISTS', ARGV[2] .. node) == 1 then return cur end
redis.call('HDEL', KEYS[1], ARGV[1])
return nil`;

/**
 * Cluster-wide presence in Redis: user id → "node|firstLoginTime" in one hash,
 * plus a set of users per node so a node can clean up after itself.
 */
export class RedisPresence {
  private readonly hash: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly nodeId: string,
  ) {
    this.hash = `${prefix}presence`;
    redis.defineCommand('imClaim', { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand('imRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('imLookup', { numberOfKeys: 1, lua: LOOKUP });
  }

  /** Key of a node's liveness marker. */
  aliveKey(nodeId: string): string {
    return `${this.prefix}alive:${nodeId}`;
  }

  /** Records the user on this node; returns where it was before, if anywhere. */
  async claim(userId: string, firstLoginTime: number): Promise<PresenceEntry | undefined> {
    const old = await this.cmd('imClaim', this.hash, this.usersKey(this.nodeId), userId, `${this.nodeId}|${firstLoginTime}`);
    return parse(old);
  }

  /** Puts back an entry that a refused login had replaced. */
  async restore(userId: string, entry: PresenceEntry): Promise<void> {
    await this.redis.hset(this.hash, userId, `${entry.nodeId}|${entry.firstLoginTime}`);
  }

  /** Removes the user's entry if it is this node's. */
  async release(userId: string): Promise<void> {
    await this.cmd('imRelease', this.hash, this.usersKey(this.nodeId), userId, this.nodeId);
  }

  /** Where the user is online, on a live node. */
  async lookup(userId: string): Promise<PresenceEntry | undefined> {
    return parse(await this.cmd('imLookup', this.hash, userId, `${this.prefix}alive:`));
  }

  /** Users online in the whole cluster (entries of nodes that died are counted until looked up). */
  count(): Promise<number> {
    return this.redis.hlen(this.hash);
  }

  /** Removes every entry this node holds (start-up after a crash, shutdown). */
  async clearOwn(): Promise<void> {
    const users = await this.redis.smembers(this.usersKey(this.nodeId));
    // Issued together, ioredis pipelines them: one round trip's wait, not one per user.
    await Promise.all(users.map((userId) => this.release(userId)));
    await this.redis.del(this.usersKey(this.nodeId));
  }

  private usersKey(nodeId: string): string {
    return `${this.prefix}users:${nodeId}`;
  }

  private cmd(name: string, ...args: string[]): Promise<string | null> {
    return (this.redis as unknown as Record<string, (...a: string[]) => Promise<string | null>>)[name](...args);
  }
}

function parse(value: string | null): PresenceEntry | undefined {
  if (!value) return undefined;
  const bar = value.lastIndexOf('|');
  return { nodeId: value.slice(0, bar), firstLoginTime: Number(value.slice(bar + 1)) };
}
