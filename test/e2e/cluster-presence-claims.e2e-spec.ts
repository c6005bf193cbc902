import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { ClusterKeys, formatPresence, RedisPresence } from '../../lib/cluster/redis-presence';
import type { PresenceEntry } from '../../lib/cluster/presence-entry';
import { startIMTestingApp, until } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { describeWithRedis } from '../support/redis-server';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** Script calls (EVAL and EVALSHA: ioredis sends a script's first call on a connection as EVAL) since the last CONFIG RESETSTAT. */
async function scriptCalls(admin: Redis): Promise<number> {
  const stats = await admin.info('commandstats');
  const calls = (command: string) => Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return calls('eval') + calls('evalsha');
}

// Claims are the presence write of every login: they are batched per turn of the event loop, and
// must still reach Redis in the order the node made them, relative to its other presence commands.
describeWithRedis('cluster presence: claims of one turn', (redis) => {
  let admin: Redis;
  let client: Redis;
  let keys: ClusterKeys;
  let presence: RedisPresence;
  const entry = (nodeId: string, sessionId: number): PresenceEntry => ({ nodeId, sessionId, firstLoginTime: 1000 + sessionId });

  beforeEach(async () => {
    admin = new Redis(redis.url);
    client = new Redis(redis.url);
    keys = new ClusterKeys(`im-test-${randomBytes(4).toString('hex')}:`);
    presence = new RedisPresence(client, keys, 'n1');
    await admin.config('RESETSTAT');
  });
  afterEach(async () => {
    client.disconnect();
    admin.disconnect();
  });

  it('sends the claims made in one turn as one script call, each answered with the entry it replaced', async () => {
    const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const first = await Promise.all(users.map((u, i) => presence.claim(u, entry('n1', i))));
    expect(first.every((previous) => previous === undefined)).toBe(true);
    expect(await scriptCalls(admin)).toBe(1);

    // Another node's claims of the same users: each one learns the very session it replaced.
    const other = new RedisPresence(client, keys, 'n2');
    const second = await Promise.all(users.map((u, i) => other.claim(u, entry('n2', 1000 + i))));
    expect(second).toEqual(users.map((_, i) => entry('n1', i)));
    expect(await scriptCalls(admin)).toBe(2);
    expect(await admin.hget(keys.presence, 'u7')).toBe(formatPresence(entry('n2', 1007)));
    expect(await admin.sismember(keys.users('n1'), 'u7')).toBe(1);
    expect(await admin.sismember(keys.users('n2'), 'u7')).toBe(1);
  });

  it('keeps the order of a claim and the commands made after it in the same turn', async () => {
    // Logged in and out in one turn: the release must not overtake the claim (a ghost entry).
    const claimed = presence.claim('brief', entry('n1', 1));
    const released = presence.release('brief', 1);
    // Counted after a claim: the count includes it.
    const claimedToo = presence.claim('counted', entry('n1', 2));
    const held = presence.ownCount();
    await Promise.all([claimed, released, claimedToo]);
    expect(await held).toBe(1);
    expect(await admin.hget(keys.presence, 'brief')).toBeNull();
    expect(await admin.sismember(keys.users('n1'), 'brief')).toBe(0);
    expect(await admin.hget(keys.presence, 'counted')).toBe(formatPresence(entry('n1', 2)));
  });

  it('fails every claim of a batch when Redis refuses it', async () => {
    client.disconnect();
    const offline = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false });
    const refused = new RedisPresence(offline, keys, 'n1');
    const results = await Promise.allSettled(['x', 'y'].map((u, i) => refused.claim(u, entry('n1', i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    offline.disconnect();
  });
});

// The node compares the users Redis holds for it with its sessions on each liveness renewal, and
// re-asserts every session when some are missing: logins arriving while that count is in flight
// must not read as missing ones (a login burst then re-asserted all sessions on every renewal).
describeWithRedis('cluster presence: liveness renewals during a login burst', (redis) => {
  it('re-asserts nothing while users log in faster than the renewals', async () => {
    const logger = new CapturingLogger();
    const keyPrefix = `im-test-${randomBytes(4).toString('hex')}:`;
    // Renewed every 100 ms (nodeTtlMs / 3, at least 100).
    const node = await startIMTestingApp({ providers: [RecordingHandlers], logger, im: { cluster: { redis: redis.url, nodeId: 'a', keyPrefix, nodeTtlMs: 300 } } });
    const admin = new Redis(redis.url);
    const keys = new ClusterKeys(keyPrefix);
    // When the liveness lapses: Redis time of the last renewal + nodeTtlMs.
    const lapsesAt = async () => Number(await admin.zscore(keys.alive, 'a'));
    try {
      // Logins back to back, 20 at a time, across six renewals or more.
      const start = await lapsesAt();
      let users = 0;
      while ((await lapsesAt()) < start + 600) {
        await Promise.all(Array.from({ length: 20 }, () => node.login('tcp', `u${users++}`)));
      }
      await until(async () => (await admin.scard(keys.users('a'))) === users);
      const reasserted = logger.lines('log').filter((l) => l.includes('re-asserted'));
      expect(reasserted).toEqual([]);
    } finally {
      admin.disconnect();
      await node.close();
    }
  });
});
