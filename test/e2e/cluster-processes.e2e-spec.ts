/**
 * The cluster under faults of a real node process (issue 12): node b runs in a child process
 * (test/support/cluster-node.ts) that the tests pause (SIGSTOP), resume and kill (SIGKILL);
 * node a runs here. Redis is a private redis-server with DEBUG enabled (DEBUG SLEEP).
 * Every wait is for a condition, bounded in time.
 */
import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { IMModuleOptions } from '../../lib';
import { IMTestClient, IMTestingApp, startIMTestingApp, until as untilHolds } from '../../lib/testing';
import { ClusterNodeProcess, startClusterNode } from '../support/cluster-node';
import { redisServerAvailable, startRedisServer, TestRedisServer } from '../support/redis-server';
import { RecordingHandlers } from './fixtures/recording-handlers';

/** The testing kit's `until`, with the condition named first as these tests read best. */
const until = (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<unknown> =>
  untilHolds(check, { message: what, timeoutMs });

const withRedis = redisServerAvailable();
/** One retransmission 300 ms apart on every transport (UDP too): the cluster's push deadline derives from the slowest policy. */
const FAST_QOS = { retransmitIntervalMs: 300, udpRetransmitIntervalMs: 300, udpRetransmitBackoff: 1, udpMaxRetransmits: 1, udpRetransmitLifetimeMs: 300 };
if (!withRedis) console.log('redis-server not installed: skipping the cluster process fault tests');

(withRedis ? describe : describe.skip)('cluster under faults: a node in its own process', () => {
  jest.setTimeout(60_000);
  let redis: TestRedisServer;
  let admin: Redis;
  let prefix: string;
  let a: IMTestingApp;
  let b: ClusterNodeProcess | undefined;

  const startA = (cluster: Partial<NonNullable<IMModuleOptions['cluster']>> = {}) =>
    startIMTestingApp({
      providers: [RecordingHandlers],
      im: { cluster: { redis: redis.url, nodeId: 'a', keyPrefix: prefix, nodeTtlMs: 3000, ...cluster }, qos: FAST_QOS },
    });
  const startB = (nodeTtlMs: number) =>
    startClusterNode({ cluster: { redis: redis.url, nodeId: 'b', keyPrefix: prefix, nodeTtlMs }, qos: FAST_QOS });

  beforeAll(async () => {
    redis = await startRedisServer({ args: ['--enable-debug-command', 'local'] });
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });
  beforeEach(() => {
    prefix = `proc-${randomBytes(3).toString('hex')}:`;
  });
  afterEach(async () => {
    await b?.stop();
    b = undefined;
    await a?.close();
  });

  const calls = () => a.app.get(RecordingHandlers).calls;

  it('a hung node delays only what is addressed to it, and its late reply yields no second copy: C2C gets neither the offline path nor an ACK, push answers unknown', async () => {
    a = await startA({ requestTimeoutMs: 1500 });
    b = await startB(10_000);
    const bob = await b.login('tcp', 'bob');
    const alice = await a.login('tcp', 'alice');
    const carol = await a.login('tcp', 'carol');
    await until('bob visible from a', () => a.push.isOnlineAnywhere('bob'));

    b.pause();
    const fp = alice.c2c('bob', 'while b is frozen');
    const pushed = a.push.send('bob', 'push while b is frozen');
    // A hung node delays only what is addressed to it: alice's local message is ACKed while that one waits.
    const local = alice.c2c('carol', 'local, meanwhile');
    carol.ack(await carol.expect({ type: 2, fp: local }));
    await alice.expect({ type: 4, dataContent: local });
    expect(a.push.stats.crossNodeUnknown).toBe(0);
    expect(await pushed).toMatchObject({ userId: 'bob', status: 'unknown' });
    await until('the C2C and the push timed out', () => a.push.stats.crossNodeUnknown === 2);
    expect(calls()).not.toContain('offline:bob');
    b.resume();

    // b wakes, delivers both from its socket buffers (in either order: two senders), and answers late: a ignores the answers.
    const woke = [await bob.expect({ type: 2 }), await bob.expect({ type: 2 })];
    woke.forEach((p) => bob.ack(p));
    expect(woke.map((p) => p.dataContent).sort()).toEqual(['push while b is frozen', 'while b is frozen']);
    expect(woke.find((p) => p.dataContent === 'while b is frozen')?.fp).toBe(fp);
    // The sender was not ACKed; its QoS retransmission (same fp) is routed again and ACKed.
    await alice.expectNothing(300);
    alice.c2c('bob', 'while b is frozen', { fp });
    bob.ack(await bob.expect({ type: 2, fp }));
    await alice.expect({ type: 4, dataContent: fp });
    // Never the offline path: no second copy under a new fp later.
    expect(calls()).not.toContain('offline:bob');
    await bob.expectNothing(300);
  });

  it('a node paused with SIGSTOP past its TTL: its users go offline for the other node, and are reachable again within 2 s of SIGCONT', async () => {
    a = await startA();
    b = await startB(1500);
    const bob = await b.login('tcp', 'bob');
    const alice = await a.login('ws', 'alice');
    await until('bob visible from a', () => a.push.isOnlineAnywhere('bob'));

    b.pause();
    await until('bob offline for a once b lapsed', async () => !(await a.push.isOnlineAnywhere('bob')), 10_000);
    expect(await a.push.send('bob', 'to a frozen node')).toMatchObject({ status: 'offline' });
    b.resume();
    const resumed = Date.now();
    await until('bob reachable after SIGCONT', () => a.push.isOnlineAnywhere('bob'), 2000);
    console.log(`node b's users reachable ${Date.now() - resumed} ms after SIGCONT`);

    const fp = alice.c2c('bob', 'after the pause');
    bob.ack(await bob.expect({ type: 2, fp }));
    await alice.expect({ type: 4, dataContent: fp });
    const push = a.push.send('bob', 'push after the pause');
    bob.ack(await bob.expect({ type: 2, dataContent: 'push after the pause' }));
    expect((await push).status).toBe('delivered');
  });

  it('a node killed with SIGKILL: push to its users answers offline at once, C2C takes the offline path, and they drop out of presence', async () => {
    a = await startA();
    b = await startB(1500);
    await b.login('tcp', 'bob');
    const alice = await a.login('tcp', 'alice');
    await until('bob visible from a', () => a.push.isOnlineAnywhere('bob'));

    await b.kill();
    // Redis has seen b's connections close: nobody listens on its channel any more.
    await until('b unsubscribed', async () => (((await admin.pubsub('NUMSUB', `{${prefix}}node:b`)) as [string, number])[1]) === 0);
    expect(await a.push.send('bob', 'to a dead node')).toEqual({ userId: 'bob', status: 'offline', fp: expect.any(String) });
    alice.c2c('bob', 'to a dead node');
    await until('C2C offline path', () => calls().includes('offline:bob'));
    await until('bob out of presence once b lapsed', async () => !(await a.push.isOnlineAnywhere('bob')), 10_000);
    expect(a.push.stats.crossNodeUnknown).toBe(0);
  });

  it('Redis asleep (DEBUG SLEEP): a local pair keeps its ACKs while Redis still sleeps; the cross-node send waits alone', async () => {
    a = await startA({ requestTimeoutMs: 1000 });
    b = await startB(10_000);
    const bob: IMTestClient = await b.login('tcp', 'bob');
    const alice = await a.login('tcp', 'alice');
    const carol = await a.login('tcp', 'carol');
    await until('bob visible from a', () => a.push.isOnlineAnywhere('bob'));

    const sleeper = new Redis(redis.url);
    let asleep = true;
    const sleeping = sleeper.call('DEBUG', 'SLEEP', '3').finally(() => (asleep = false));
    try {
      const t0 = Date.now();
      const across = alice.c2c('bob', 'into a sleeping Redis');
      const acks: number[] = [];
      for (let i = 0; i < 5; i++) {
        const fp = alice.c2c('carol', `local ${i}`);
        carol.ack(await carol.expect({ type: 2, fp }));
        // (The ACK of the cross-node send may come first, if Redis began its sleep only after routing it.)
        while ((await alice.expect({ type: 4 })).dataContent !== fp);
        acks.push(Date.now() - t0);
      }
      // Local traffic went on while Redis was still asleep.
      expect(asleep).toBe(true);
      console.log(`local C2C ACKed at ${acks.join(', ')} ms while Redis sleeps 3 s`);
      await sleeping;
      // The send to node b waited alone: its routing script timed out (maybe sent: no offline path, no
      // ACK; Redis runs it on waking), or it got through before the sleep; either way bob gets it once.
      const offline = () => calls().includes('offline:bob');
      const maybe = () => a.push.stats.crossNodeUnknown === 1;
      await until('the cross-node send settled', () => offline() || maybe() || calls().includes(`c2cDelivered:${across}`), 10_000);
      if (!offline()) bob.ack(await bob.expect({ type: 2, fp: across }, 5000));
      // Whatever else bob got is node b's retransmission of that fp (it was ACKed late), never a second copy.
      await new Promise((r) => setTimeout(r, 0));
      expect(new Set(bob.rawLog.map((t) => JSON.parse(t)).filter((p) => p.type === 2).map((p) => p.fp))).toEqual(offline() ? new Set() : new Set([across]));
    } finally {
      await sleeping.catch(() => undefined);
      sleeper.disconnect();
    }
  });
});
