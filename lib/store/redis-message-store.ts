import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { Packet } from '../protocol/packet';
import { decodePacket, encodePacket } from '../protocol/packet-codec';
import { AppendResult, IMMessageStore, MessageStoreLimits, StoredMessage } from './message-store';

/**
 * Redis connection of the store: a URL, ioredis options, or an ioredis `Redis`
 * or `Cluster` the application owns. Typed as `object` so that the published
 * types never import ioredis (an optional peer).
 */
export type RedisStoreConnection = string | object;

/** Options of {@link RedisMessageStore}. */
export interface RedisMessageStoreOptions {
  redis: RedisStoreConnection;
  /** Prefix of every key. Default `im:store:`. */
  keyPrefix?: string;
}

/*
 * Keys per user, both hash-tagged `{user}` so a script touching them runs on
 * one Redis Cluster slot: `<prefix>{user}:s` a Stream of the messages (its
 * time-based ids give the order and the TTL: XTRIM MINID), `<prefix>{user}:f`
 * a hash fp → stream id (remove by fp, dedup). Both expire `ttlMs` after the
 * last append, so a user who never returns leaves nothing behind.
 */

/**
 * KEYS: stream, index. ARGV: fp, packet json, maxPerUser, ttlMs. → 'dup' | 'full' | stream id.
 * On the hot path (crash safety writes every QoS C2C through): expired messages
 * and stale index entries are trimmed only when the user is at the bound.
 */
const APPEND = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and #redis.call('XRANGE', KEYS[1], old, old) > 0 then return 'dup' end
local max = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
if redis.call('XLEN', KEYS[1]) >= max then
  local t = redis.call('TIME')
  local minid = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl
  if redis.call('XTRIM', KEYS[1], 'MINID', minid) == 0 then return 'full' end
  -- Index entries of the expired messages go too.
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if #redis.call('XRANGE', KEYS[1], all[i + 1], all[i + 1]) == 0 then redis.call('HDEL', KEYS[2], all[i]) end
  end
  if redis.call('XLEN', KEYS[1]) >= max then return 'full' end
end
local id = redis.call('XADD', KEYS[1], '*', 'p', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return id
`;

/** KEYS: stream, index, held. ARGV: ttlMs. Held copies ("<ms>:<json>") into the stream, oldest first. */
const RECOVER = `
local all = redis.call('HGETALL', KEYS[3])
if #all == 0 then return 0 end
local items = {}
for i = 1, #all, 2 do
  local v = all[i + 1]
  local sep = string.find(v, ':', 1, true)
  table.insert(items, { tonumber(string.sub(v, 1, sep - 1)), all[i], string.sub(v, sep + 1) })
end
table.sort(items, function(a, b) return a[1] < b[1] end)
for _, it in ipairs(items) do
  local old = redis.call('HGET', KEYS[2], it[2])
  if not (old and #redis.call('XRANGE', KEYS[1], old, old) > 0) then
    redis.call('HSET', KEYS[2], it[2], redis.call('XADD', KEYS[1], '*', 'p', it[3]))
  end
end
redis.call('DEL', KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return #items
`;

/** KEYS: stream, index. ARGV: fp. → 1 removed, 0 not there */
const REMOVE = `
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('XDEL', KEYS[1], id)
`;

/** KEYS: stream. ARGV: ttlMs, start ('-' or '(' id), count. → entries */
const READ = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XTRIM', KEYS[1], 'MINID', now - tonumber(ARGV[1]))
return redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT', tonumber(ARGV[3]))
`;

/** KEYS: stream. ARGV: ttlMs. → length */
const COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XTRIM', KEYS[1], 'MINID', now - tonumber(ARGV[1]))
return redis.call('XLEN', KEYS[1])
`;

type Scripted = Redis & {
  imStoreAppend(s: string, f: string, fp: string, json: string, max: number, ttl: number): Promise<string>;
  imStoreRemove(s: string, f: string, fp: string): Promise<number>;
  imStoreRead(s: string, ttl: number, start: string, count: number): Promise<[string, string[]][]>;
  imStoreCount(s: string, ttl: number): Promise<number>;
  imStoreRecover(s: string, f: string, h: string, ttl: number): Promise<number>;
};

/**
 * The durable twin of {@link MemoryMessageStore}, on Redis Streams (Redis ≥ 6.2):
 * survives a crash of the server and is shared by every node that points at
 * the same Redis. Bounded per user and by TTL; the total is Redis' `maxmemory`
 * (use `noeviction`: a full Redis refuses appends, which the sender is told).
 * One connection: a user's operations reach Redis in call order (the core
 * relies on that: a removal issued after an append is applied after it).
 */
export class RedisMessageStore implements IMMessageStore {
  readonly durable = true;
  private readonly redis: Scripted;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly logger = new Logger('RedisMessageStore');
  private closed = false;
  private failureLogged = false;
  private holds = new Map<string, { fields: string[]; waiters: ((r: AppendResult) => void)[] }>();
  private releases = new Map<string, { fps: string[]; waiters: (() => void)[] }>();
  private flushTimer?: NodeJS.Immediate;
  /** When each user's held hash last got its TTL (bounded: cleared past 100,000 users). */
  private readonly expiredAt = new Map<string, number>();

  constructor(options: RedisMessageStoreOptions, private readonly limits: MessageStoreLimits) {
    this.prefix = options.keyPrefix ?? 'im:store:';
    const given = options.redis;
    if (typeof given === 'object' && given !== null && typeof (given as Redis).defineCommand === 'function') {
      this.redis = given as Scripted;
      this.owned = false;
    } else {
      // Loaded here so that applications without Redis need not install ioredis.
      const IORedis = (require('ioredis') as { default: typeof Redis }).default;
      // Auto-pipelining: the appends and removals of one event-loop turn go out in one write.
      // A frozen Redis must not hold a login's backlog (and the live packets behind it) for ever.
      const defaults = { maxRetriesPerRequest: 2, lazyConnect: false, enableAutoPipelining: true, commandTimeout: 5000 };
      this.redis = (typeof given === 'string' ? new IORedis(given, defaults) : new IORedis({ ...defaults, ...(given as object) })) as Scripted;
      this.owned = true;
      // ioredis reconnects by itself; without a listener an error event would be thrown.
      this.redis.on('error', (err) => this.failed(err));
    }
    this.redis.defineCommand('imStoreAppend', { numberOfKeys: 2, lua: APPEND });
    this.redis.defineCommand('imStoreRemove', { numberOfKeys: 2, lua: REMOVE });
    this.redis.defineCommand('imStoreRead', { numberOfKeys: 1, lua: READ });
    this.redis.defineCommand('imStoreCount', { numberOfKeys: 1, lua: COUNT });
    this.redis.defineCommand('imStoreRecover', { numberOfKeys: 3, lua: RECOVER });
  }

  async append(userId: string, packet: Packet): Promise<AppendResult> {
    this.flush(); // batched holds and releases first: one user's operations stay in call order
    if (packet.fp === undefined) return { ok: false, reason: 'too-large' };
    const json = encodePacket(packet);
    if (Buffer.byteLength(json) > this.limits.maxMessageBytes) return { ok: false, reason: 'too-large' };
    try {
      const r = await this.redis.imStoreAppend(this.key(userId, 's'), this.key(userId, 'f'), packet.fp, json, this.limits.maxPerUser, this.limits.ttlMs);
      this.failureLogged = false;
      if (r === 'full') return { ok: false, reason: 'user-full' };
      return { ok: true, duplicate: r === 'dup' };
    } catch (err) {
      this.failed(err);
      return { ok: false, reason: 'unavailable' };
    }
  }

  async read(userId: string, limit: number, afterId?: string): Promise<StoredMessage[]> {
    this.flush(); // batched holds and releases first: one user's operations stay in call order
    const rows = await this.redis.imStoreRead(this.key(userId, 's'), this.limits.ttlMs, afterId === undefined ? '-' : `(${afterId}`, limit);
    const out: StoredMessage[] = [];
    for (const [id, fields] of rows) {
      const decoded = decodePacket(fields[1], { lenient: false });
      // Only the server writes these keys; a row that does not decode is skipped, not fatal.
      if (decoded.ok) out.push({ id, packet: decoded.packet, storedAt: Number(id.slice(0, id.indexOf('-'))) });
    }
    return out;
  }

  async remove(userId: string, fp: string): Promise<boolean> {
    this.flush(); // batched holds and releases first: one user's operations stay in call order
    return (await this.redis.imStoreRemove(this.key(userId, 's'), this.key(userId, 'f'), fp)) === 1;
  }

  count(userId: string): Promise<number> {
    this.flush();
    return this.redis.imStoreCount(this.key(userId, 's'), this.limits.ttlMs);
  }

  /**
   * A hash `<prefix>{user}:h` fp → "<ms>:<json>", written without a script.
   * This is what the core writes for every QoS C2C to an online user, so holds
   * and releases are batched: one HSET / HDEL per user per event-loop turn, and
   * the hash's TTL renewed only when half of it has run.
   */
  hold(userId: string, packet: Packet): Promise<AppendResult> {
    if (packet.fp === undefined) return Promise.resolve({ ok: false, reason: 'too-large' });
    const json = encodePacket(packet);
    if (Buffer.byteLength(json) > this.limits.maxMessageBytes) return Promise.resolve({ ok: false, reason: 'too-large' });
    return new Promise((resolve) => {
      let batch = this.holds.get(userId);
      if (!batch) this.holds.set(userId, (batch = { fields: [], waiters: [] }));
      batch.fields.push(packet.fp as string, `${Date.now()}:${json}`);
      batch.waiters.push(resolve);
      this.schedule();
    });
  }

  release(userId: string, fp: string): Promise<void> {
    return new Promise((resolve) => {
      let batch = this.releases.get(userId);
      if (!batch) this.releases.set(userId, (batch = { fps: [], waiters: [] }));
      batch.fps.push(fp);
      batch.waiters.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushTimer) return;
    // setImmediate, not a microtask: the packets of every socket read in this turn share the batch.
    this.flushTimer = setImmediate(() => this.flush());
  }

  /** Sends the batched holds, then the releases (a hold and its release in one batch stay in that order). */
  private flush(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const holds = this.holds;
    const releases = this.releases;
    if (holds.size === 0 && releases.size === 0) return;
    this.holds = new Map();
    this.releases = new Map();
    const now = Date.now();
    if (this.expiredAt.size > 100_000) this.expiredAt.clear();
    for (const [userId, batch] of holds) {
      const key = this.key(userId, 'h');
      const writes: Promise<unknown>[] = [this.redis.hset(key, ...batch.fields)];
      const last = this.expiredAt.get(userId);
      if (last === undefined || now - last > this.limits.ttlMs / 2) {
        this.expiredAt.set(userId, now);
        writes.push(this.redis.pexpire(key, this.limits.ttlMs));
      }
      Promise.all(writes).then(
        () => {
          this.failureLogged = false;
          for (const w of batch.waiters) w({ ok: true, duplicate: false });
        },
        (err) => {
          this.expiredAt.delete(userId);
          this.failed(err);
          for (const w of batch.waiters) w({ ok: false, reason: 'unavailable' });
        },
      );
    }
    for (const [userId, batch] of releases) {
      const done = () => batch.waiters.forEach((w) => w());
      // A failed release leaves a copy that `recover` redelivers once; the client drops it by fp.
      this.redis.hdel(this.key(userId, 'h'), ...batch.fps).then(done, (err) => (this.failed(err), done()));
    }
  }

  async recover(userId: string): Promise<void> {
    this.flush(); // batched holds and releases first: one user's operations stay in call order
    await this.redis.imStoreRecover(this.key(userId, 's'), this.key(userId, 'f'), this.key(userId, 'h'), this.limits.ttlMs);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.closed || !this.owned) return;
    this.closed = true;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private key(userId: string, kind: 's' | 'f' | 'h'): string {
    return `${this.prefix}{${userId}}:${kind}`;
  }

  /** Logged once per outage: every append during it fails the same way. */
  private failed(err: unknown): void {
    if (this.failureLogged) return;
    this.failureLogged = true;
    this.logger.error(`message store: Redis failed: ${(err as Error)?.message ?? err}`);
  }
}
