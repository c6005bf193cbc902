import { randomBytes } from 'crypto';
import Redis, { Cluster } from 'ioredis';
import { ClusterOptions, IM_CLUSTER, RedisCluster } from '../../lib';
import { until } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { ClusterBackend, clusterBehaviour, sendAcked, twoNodes } from '../support/cluster-behaviour';
import { describeWithRedis, describeWithRedisCluster } from '../support/redis-server';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** A cluster on one private redis-server or a private three-master Redis Cluster; each test gets a key prefix of its own. */
interface RedisBackend extends ClusterBackend {
  /** The current test's key prefix. */
  readonly prefix: string;
  /** A client of the tests' own (disconnect it). */
  admin(): Redis | Cluster;
  /** Publishes to a node's channel the way the nodes do (sharded on a Redis Cluster). */
  publish(client: Redis | Cluster, channel: string, text: string): Promise<unknown>;
}

function redisBackend(
  option: () => ClusterOptions['redis'],
  admin: () => Redis | Cluster,
  publish: RedisBackend['publish'],
): RedisBackend {
  let prefix = '';
  return {
    get prefix() {
      return prefix;
    },
    fresh: () => void (prefix = `im-test-${randomBytes(4).toString('hex')}:`),
    cluster: (nodeId) => ({ redis: option(), nodeId, keyPrefix: prefix }),
    async presenceSize() {
      const client = admin();
      try {
        return await client.hlen(`{${prefix}}presence`);
      } finally {
        client.disconnect();
      }
    },
    admin,
    publish,
  };
}

// Each suite gets its own private redis-server or Redis Cluster (never the user's 6379); presence
// is written just after the login response, hence the until() waits.
describeWithRedis('cluster on Redis', (redis) => {
  const backend = redisBackend(() => redis.url, () => new Redis(redis.url), (c, ch, text) => c.publish(ch, text));
  clusterBehaviour(backend);
  onRedisOnly(backend);
});
describeWithRedisCluster('cluster on a Redis Cluster (three masters)', (rc) => {
  const backend = redisBackend(() => ({ nodes: rc.nodes }), () => new Cluster(rc.nodes), (c, ch, text) => c.spublish(ch, text));
  clusterBehaviour(backend);
  onRedisOnly(backend);
});

/** The scenarios that reach into Redis itself: raw data on its channels and keys, its connection dropped. */
function onRedisOnly(redis: RedisBackend): void {
  describe('two nodes, Redis reached directly', () => {
    const nodes = twoNodes(redis);
    const online = (userId: string) => () => nodes.a.push.isOnlineAnywhere(userId);

    it('ignores, counts and logs once what is not a valid envelope of its version on its channel; routing goes on', async () => {
      const { a, b } = nodes;
      const logs = new CapturingLogger();
      a.app.useLogger(logs);
      const alice = await a.login('tcp', 'alice');
      const bob = await b.login('ws', 'bob');
      await until(online('bob'));
      const admin = redis.admin();
      try {
        const channel = `{${redis.prefix}}node:a`;
        const bad = [
          'not json',
          '[1,2]',
          JSON.stringify({ v: 2, from: 'b', requests: [[1, { kind: 'kick', userId: 'alice' }]] }),
          JSON.stringify({ v: 1, from: 'b', requests: [[1, { kind: 'kick' }]] }),
          JSON.stringify({ v: 1, from: 'b', requests: [[1, { kind: 'c2c', packet: { type: 2, to: 'alice' } }]] }),
          JSON.stringify({ v: 1, from: 'b', requests: [[1, { kind: 'format-disk' }]] }),
          JSON.stringify({ v: 1, requests: [] }),
          JSON.stringify({ v: 1, from: 'b', replies: 'yes' }),
        ];
        for (const text of bad) await redis.publish(admin, channel, text);
        await until(() => a.push.stats.clusterEnvelopesRejected === bad.length);
        expect(alice.isOpen).toBe(true); // the version-2 kick was not carried out
        const warnings = logs.lines('warn').filter((l) => l.includes('ignored a message on its channel'));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('not JSON');
        await sendAcked(alice, bob, 'still routed');
      } finally {
        admin.disconnect();
      }
    });

    it('with its Redis connection gone, a node still serves its sessions; remote users take the offline path', async () => {
      const { a, b } = nodes;
      await b.login('tcp', 'bob');
      await until(online('bob'));
      const alice = await a.login('tcp', 'alice');
      const logs = new CapturingLogger();
      a.app.useLogger(logs);
      (a.app.get<RedisCluster>(IM_CLUSTER) as unknown as { link: { redis: Redis | Cluster } }).link.redis.disconnect();
      alice.c2c('bob', 'anyone?');
      await until(() => a.app.get(RecordingHandlers).calls.includes('offline:bob'));
      await alice.expectNothing(200);
      alice.keepalive();
      await alice.expect({ type: 51 });
      // Losing Redis is worth an error line: reported, not thrown.
      expect(logs.lines('error')).toContainEqual(expect.stringMatching(/^ERROR \[IMCluster\] Redis\b/));
    });

    it('drops the presence of a node that died without cleaning up', async () => {
      const client = redis.admin();
      try {
        await client.hset(`{${redis.prefix}}presence`, 'ghost', 'crashed-node|123');
        expect(await nodes.a.push.isOnlineAnywhere('ghost')).toBe(false);
        expect(await client.hexists(`{${redis.prefix}}presence`, 'ghost')).toBe(0);
      } finally {
        client.disconnect();
      }
    });
  });
}
