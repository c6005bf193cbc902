import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { IM_CLUSTER, IMModuleOptions, RedisCluster } from '../../lib';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { RecordingHandlers, sleep } from './fixtures/recording-handlers';

const REDIS = process.env.IM_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Polls until `check` holds (presence is written just after the login response). */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('cluster on Redis: two nodes', () => {
  let prefix: string;
  let a: IMTestingApp;
  let b: IMTestingApp;

  const node = (nodeId: string, extra: IMModuleOptions = {}) =>
    startIMTestingApp({
      providers: [RecordingHandlers],
      im: { cluster: { redis: REDIS, nodeId, keyPrefix: prefix }, qos: { retransmitIntervalMs: 300 }, ...extra },
    });

  beforeEach(async () => {
    prefix = `im-test-${randomBytes(4).toString('hex')}:`;
    a = await node('a');
    b = await node('b');
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    // A node that lost Redis (one test does that on purpose) cannot remove its keys.
    const redis = new Redis(REDIS);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
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
    (a.app.get<RedisCluster>(IM_CLUSTER) as unknown as { redis: Redis }).redis.disconnect();
    alice.c2c('bob', 'anyone?');
    await alice.expectNothing(200);
    expect(a.app.get(RecordingHandlers).calls).toContain('offline:bob');
    alice.keepalive();
    await alice.expect({ type: 51 });
  });

  it('drops the presence of a node that died without cleaning up', async () => {
    const redis = new Redis(REDIS);
    try {
      await redis.hset(`${prefix}presence`, 'ghost', 'crashed-node|123');
      expect(await a.push.isOnlineAnywhere('ghost')).toBe(false);
      expect(await redis.hexists(`${prefix}presence`, 'ghost')).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
