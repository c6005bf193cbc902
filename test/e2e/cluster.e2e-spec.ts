import { randomBytes } from 'crypto';
import Redis, { Cluster } from 'ioredis';
import { ClusterOptions, IM_CLUSTER, IMModuleOptions, RedisCluster } from '../../lib';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { describeWithRedis, describeWithRedisCluster } from '../support/redis-server';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** The Redis a suite runs on: one private redis-server, or a private three-master Redis Cluster. */
interface RedisTarget {
  /** The `cluster.redis` option for the nodes. */
  option(): ClusterOptions['redis'];
  /** A client of the tests' own (disconnect it). */
  admin(): Redis | Cluster;
  /** Publishes to a node's channel the way the nodes do (sharded on a Redis Cluster). */
  publish(client: Redis | Cluster, channel: string, text: string): Promise<unknown>;
}

// Each suite gets its own private redis-server or Redis Cluster (never the user's 6379); presence
// is written just after the login response, hence the until() waits.
describeWithRedis('cluster on Redis: two nodes', (redis) =>
  twoNodes({ option: () => redis.url, admin: () => new Redis(redis.url), publish: (c, ch, text) => c.publish(ch, text) }),
);
describeWithRedisCluster('cluster on a Redis Cluster (three masters): two nodes', (rc) =>
  twoNodes({ option: () => ({ nodes: rc.nodes }), admin: () => new Cluster(rc.nodes), publish: (c, ch, text) => c.spublish(ch, text) }),
);

function twoNodes(redis: RedisTarget): void {
  let prefix: string;
  let a: IMTestingApp;
  let b: IMTestingApp;

  const node = (nodeId: string, extra: IMModuleOptions = {}) =>
    startIMTestingApp({
      providers: [RecordingHandlers],
      im: {
        cluster: { redis: redis.option(), nodeId, keyPrefix: prefix },
        // UDP recipients too: one retransmission, then lost, as on TCP (the UDP backoff policy has its own tests).
        qos: { retransmitIntervalMs: 300, udpRetransmitIntervalMs: 300, udpRetransmitBackoff: 1, udpMaxRetransmits: 1, udpRetransmitLifetimeMs: 300 },
        ...extra,
      },
    });

  beforeEach(async () => {
    prefix = `im-test-${randomBytes(4).toString('hex')}:`;
    a = await node('a');
    b = await node('b');
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  const online = (app: IMTestingApp, userId: string) => () => app.push.isOnlineAnywhere(userId);

  it('routes C2C to a user on the other node, with the ACK semantics of one node', async () => {
    const alice = await a.login('tcp', 'alice');
    const bob = await b.login('ws', 'bob');
    await until(online(a, 'bob'));
    const fp = alice.c2c('bob', 'across nodes');
    const msg = await bob.expect({ type: 2, fp, from: 'alice', to: 'bob' });
    await alice.expect({ type: 4, dataContent: fp, from: 'bob', to: 'alice' });
    bob.ack(msg);
    await until(() => b.app.get(RecordingHandlers).delivered.includes(fp));
    const back = bob.c2c('alice', 'and back');
    alice.ack(await alice.expect({ type: 2, fp: back }));
    await bob.expect({ type: 4, dataContent: back, from: 'alice' });
    expect(a.app.get(RecordingHandlers).calls).toContain('c2c:across nodes');
  });

  it('pipelines cross-node C2C: many in flight from one session, in the order sent, local messages not held behind them', async () => {
    const alice = await a.login('tcp', 'alice');
    const carol = await a.login('tcp', 'carol');
    const bob = await b.login('ws', 'bob');
    await until(online(a, 'bob'));
    const across = Array.from({ length: 50 }, (_, i) => alice.c2c('bob', `m${i}`));
    const local = alice.c2c('carol', 'local, sent after them');
    for (const fp of across) bob.ack(await bob.expect({ type: 2, fp }));
    carol.ack(await carol.expect({ type: 2, fp: local }));
    const acked = new Set<string>();
    while (acked.size < 51) acked.add((await alice.expect({ type: 4 })).dataContent as string);
    expect(acked).toEqual(new Set([...across, local]));
    // Delivered locally while the cross-node ones were still waiting for their answers (one at a time, it would come last).
    const delivered = a.app.get(RecordingHandlers).calls.filter((c) => c.startsWith('c2cDelivered:'));
    expect(delivered.indexOf(`c2cDelivered:${local}`)).toBeLessThan(delivered.indexOf(`c2cDelivered:${across[49]}`));
  });

  // After the first C2C to a user, the sender's node publishes straight to the node it found the user on
  // (a route hint, no presence lookup); these are the cases where that hint has gone stale.
  /** Alice on node a has sent bob on node b one C2C, so node a holds a route hint for bob. */
  const withRouteHint = async () => {
    const alice = await a.login('tcp', 'alice');
    const bob = await b.login('ws', 'bob');
    await until(online(a, 'bob'));
    const first = alice.c2c('bob', 'to b');
    bob.ack(await bob.expect({ type: 2, fp: first }));
    await alice.expect({ type: 4, dataContent: first });
    return { alice, bob };
  };

  it('a recipient who moved to another node is reached there, in order, though the sender still has the old route', async () => {
    const { alice, bob } = await withRouteHint();
    const c = await node('c');
    try {
      const moved = await c.login('tcp', 'bob');
      await bob.expect({ type: 54, dataContent: '{"code":1}' });
      await until(() => !b.push.isOnline('bob'));
      // Node b answers "not here" to what node a still sends it; node a routes those again, in the order sent.
      const fps = Array.from({ length: 20 }, (_, i) => alice.c2c('bob', `moved ${i}`));
      for (const fp of fps) moved.ack(await moved.expect({ type: 2, fp }));
      const acked = new Set<string>();
      while (acked.size < fps.length) acked.add((await alice.expect({ type: 4 })).dataContent as string);
      expect(acked).toEqual(new Set(fps));
      expect(a.app.get(RecordingHandlers).calls.filter((x) => x.startsWith('offline:'))).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('a recipient whose node is gone is reached on the node it logged in to since, not sent offline', async () => {
    const { alice } = await withRouteHint();
    await b.close();
    const c = await node('c');
    try {
      const again = await c.login('tcp', 'bob');
      await until(online(a, 'bob'));
      // Nobody listens on node b's channel any more: node a routes by presence instead.
      const fp = alice.c2c('bob', 'b is gone');
      again.ack(await again.expect({ type: 2, fp }));
      await alice.expect({ type: 4, dataContent: fp });
      expect(a.app.get(RecordingHandlers).calls.filter((x) => x.startsWith('offline:'))).toEqual([]);
    } finally {
      await c.close();
      b = await node('b');
    }
  });

  it('limits.maxCrossNodeInFlight: past it the session waits for its cross-node sends (counted), and nothing is lost', async () => {
    const c = await node('c', { limits: { maxCrossNodeInFlight: 1 } });
    try {
      const alice = await c.login('tcp', 'alice');
      const carol = await c.login('tcp', 'carol');
      const bob = await b.login('ws', 'bob');
      await until(online(c, 'bob'));
      const across = Array.from({ length: 5 }, (_, i) => alice.c2c('bob', `m${i}`));
      const local = alice.c2c('carol', 'local, sent after them');
      for (const fp of across) bob.ack(await bob.expect({ type: 2, fp }));
      carol.ack(await carol.expect({ type: 2, fp: local }));
      const delivered = c.app.get(RecordingHandlers).calls.filter((x) => x.startsWith('c2cDelivered:'));
      expect(delivered).toEqual([...across, local].map((fp) => `c2cDelivered:${fp}`));
      expect(c.push.stats.crossNodeWaits).toBe(5);
    } finally {
      await c.close();
    }
  });

  it('ignores, counts and logs once what is not a valid envelope of its version on its channel; routing goes on', async () => {
    const logs = new CapturingLogger();
    a.app.useLogger(logs);
    const alice = await a.login('tcp', 'alice');
    const bob = await b.login('ws', 'bob');
    await until(online(a, 'bob'));
    const admin = redis.admin();
    try {
      const channel = `{${prefix}}node:a`;
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
      const fp = alice.c2c('bob', 'still routed');
      bob.ack(await bob.expect({ type: 2, fp }));
      await alice.expect({ type: 4, dataContent: fp });
    } finally {
      admin.disconnect();
    }
  });

  it('takes the offline path for a user online nowhere', async () => {
    const alice = await a.login('tcp', 'alice');
    alice.c2c('nobody', 'hello?');
    await alice.expectNothing(200);
    expect(a.app.get(RecordingHandlers).calls).toContain('offline:nobody');
  });

  it('pushes to a user on the other node: delivered on ACK, lost without, offline when nowhere', async () => {
    const bob = await b.login('udp', 'bob');
    await until(online(a, 'bob'));
    const delivered = a.push.send('bob', 'from node a');
    bob.ack(await bob.expect({ type: 2, dataContent: 'from node a' }));
    expect((await delivered).status).toBe('delivered');

    const lost = a.push.send('bob', 'never acked', { fp: 'never' });
    await bob.expect({ type: 2, fp: 'never' });
    await bob.expect({ type: 2, fp: 'never' });
    expect(await lost).toEqual({ userId: 'bob', status: 'lost', fp: 'never' });

    expect((await a.push.send('nobody', 'x')).status).toBe('offline');
  });

  it('a fresh login on another node kicks the old session (code 1) and takes its messages', async () => {
    const old = await a.login('tcp', 'alice');
    await until(online(b, 'alice'));
    const fresh = await b.login('ws', 'alice');
    await old.expect({ type: 54, dataContent: '{"code":1}' });
    await old.expectClosed();
    expect(a.app.get(RecordingHandlers).logouts).toEqual([{ userId: 'alice', kickCode: 1 }]);
    const carol = await a.login('tcp', 'carol');
    await until(async () => !a.push.isOnline('alice') && (await a.push.isOnlineAnywhere('alice')));
    const fp = carol.c2c('alice', 'where are you?');
    await fresh.expect({ type: 2, fp });
    await carol.expect({ type: 4, dataContent: fp });
  });

  it('the same device reconnecting on another node retires the old connection without a kick-out', async () => {
    const old = await a.connect('tcp');
    const { firstLoginTime } = await old.login('alice');
    await until(online(b, 'alice'));
    const again = await b.connect('tcp');
    await again.login('alice', { firstLoginTime });
    await old.expectClosed();
    expect(old.rawLog).toHaveLength(1);
    await again.expectNothing(100);
  });

  it('a stale device logging in on another node is refused; the online session is untouched', async () => {
    const current = await a.connect('tcp');
    await current.login('alice', { firstLoginTime: 5000 });
    await until(online(b, 'alice'));
    const stale = await b.connect('ws');
    expect((await stale.login('alice', { firstLoginTime: 4000 })).code).toBe(0);
    await stale.expect({ type: 54, dataContent: '{"code":1}' });
    await stale.expectClosed();
    const bob = await b.login('tcp', 'bob');
    await until(online(b, 'alice'));
    const fp = bob.c2c('alice', 'still here?');
    await current.expect({ type: 2, fp });
    expect(b.app.get(RecordingHandlers).logouts).toEqual([]);
  });

  it('kicks and counts across nodes, and forgets users when they leave', async () => {
    const bob = await b.login('tcp', 'bob');
    await a.login('ws', 'alice');
    await until(async () => (await a.push.onlineCountAnywhere()) === 2);
    expect(await a.push.kick('bob', 'maintenance')).toBe(true);
    expect(JSON.parse((await bob.expect({ type: 54 })).dataContent as string)).toEqual({ code: 2, reason: 'maintenance' });
    await until(async () => !(await a.push.isOnlineAnywhere('bob')));
    expect(await a.push.kick('bob')).toBe(false);
  });

  it('a node that shuts down takes its users out of presence', async () => {
    await b.login('tcp', 'bob');
    await until(online(a, 'bob'));
    await b.close();
    expect(await a.push.isOnlineAnywhere('bob')).toBe(false);
    b = await node('b');
  });

  it('with its Redis connection gone, a node still serves its sessions; remote users take the offline path', async () => {
    await b.login('tcp', 'bob');
    await until(online(a, 'bob'));
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
      await client.hset(`{${prefix}}presence`, 'ghost', 'crashed-node|123');
      expect(await a.push.isOnlineAnywhere('ghost')).toBe(false);
      expect(await client.hexists(`{${prefix}}presence`, 'ghost')).toBe(0);
    } finally {
      client.disconnect();
    }
  });
}

describeWithRedis('cluster on Redis: clean shutdown', (redis) =>
  cleanShutdown({ option: () => redis.url, admin: () => new Redis(redis.url), publish: (c, ch, text) => c.publish(ch, text) }),
);
describeWithRedisCluster('cluster on a Redis Cluster: clean shutdown', (rc) =>
  cleanShutdown({ option: () => ({ nodes: rc.nodes }), admin: () => new Cluster(rc.nodes), publish: (c, ch, text) => c.spublish(ch, text) }),
);

function cleanShutdown(redis: RedisTarget): void {
  it('logs no error or warning when nodes stop cleanly (shutdown hooks run once)', async () => {
    const logs = new CapturingLogger();
    const prefix = `im-test-${randomBytes(4).toString('hex')}:`;
    const start = (nodeId: string) =>
      startIMTestingApp({ providers: [RecordingHandlers], logger: logs, im: { cluster: { redis: redis.option(), nodeId, keyPrefix: prefix } } });
    const a = await start('a');
    const b = await start('b');
    try {
      const alice = await a.login('tcp', 'alice');
      const bob = await b.login('ws', 'bob');
      await until(() => a.push.isOnlineAnywhere('bob'));
      const fp = alice.c2c('bob', 'before shutdown');
      bob.ack(await bob.expect({ type: 2, fp }));
      await alice.expect({ type: 4, dataContent: fp });
    } finally {
      await a.close();
      await b.close();
    }
    // The capture saw the nodes' own lines, so silence about errors means something.
    expect(logs.lines('log')).toContainEqual(expect.stringMatching(/\[IMCluster\] node a joined the cluster/));
    expect(logs.lines('error', 'fatal', 'warn')).toEqual([]);
    const client = redis.admin();
    try {
      expect(await client.hlen(`{${prefix}}presence`)).toBe(0);
    } finally {
      client.disconnect();
    }
  });
}
