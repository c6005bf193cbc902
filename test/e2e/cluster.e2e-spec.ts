import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { IM_CLUSTER, IMModuleOptions, RedisCluster } from '../../lib';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { describeWithRedis } from '../support/redis-server';
import { RecordingHandlers } from './fixtures/recording-handlers';

// Each suite gets its own private redis-server (never the user's 6379); presence is
// written just after the login response, hence the until() waits.
describeWithRedis('cluster on Redis: two nodes', (redis) => {
  let prefix: string;
  let a: IMTestingApp;
  let b: IMTestingApp;

  const node = (nodeId: string, extra: IMModuleOptions = {}) =>
    startIMTestingApp({
      providers: [RecordingHandlers],
      im: {
        cluster: { redis: redis.url, nodeId, keyPrefix: prefix },
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
    (a.app.get<RedisCluster>(IM_CLUSTER) as unknown as { redis: Redis }).redis.disconnect();
    alice.c2c('bob', 'anyone?');
    await until(() => a.app.get(RecordingHandlers).calls.includes('offline:bob'));
    await alice.expectNothing(200);
    alice.keepalive();
    await alice.expect({ type: 51 });
    // Losing Redis is worth an error line: reported, not thrown.
    expect(logs.lines('error')).toContainEqual(expect.stringMatching(/^ERROR \[IMCluster\] Redis: /));
  });

  it('drops the presence of a node that died without cleaning up', async () => {
    const client = new Redis(redis.url);
    try {
      await client.hset(`${prefix}presence`, 'ghost', 'crashed-node|123');
      expect(await a.push.isOnlineAnywhere('ghost')).toBe(false);
      expect(await client.hexists(`${prefix}presence`, 'ghost')).toBe(0);
    } finally {
      client.disconnect();
    }
  });
});

describeWithRedis('cluster on Redis: clean shutdown', (redis) => {
  it('logs no error or warning when nodes stop cleanly (shutdown hooks run once)', async () => {
    const logs = new CapturingLogger();
    const prefix = `im-test-${randomBytes(4).toString('hex')}:`;
    const start = (nodeId: string) =>
      startIMTestingApp({ providers: [RecordingHandlers], logger: logs, im: { cluster: { redis: redis.url, nodeId, keyPrefix: prefix } } });
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
    const client = new Redis(redis.url);
    try {
      expect(await client.hlen(`${prefix}presence`)).toBe(0);
    } finally {
      client.disconnect();
    }
  });
});
