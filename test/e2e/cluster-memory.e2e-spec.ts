/**
 * The cluster's node logic on its in-memory twins: two Nest applications in this process share a
 * MemoryClusterHub instead of a Redis (no redis-server involved), with real sockets to both.
 */
import { IM_CLUSTER, IMModuleOptions, Packet, RedisCluster } from '../../lib';
import { IMTestingApp, ManualClock, MemoryClusterHub, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from './fixtures/recording-handlers';

const node = (hub: MemoryClusterHub, nodeId: string, extra: IMModuleOptions = {}, clock?: ManualClock) =>
  startIMTestingApp({ providers: [RecordingHandlers], manualClock: clock, im: { cluster: { memory: hub, nodeId, nodeTtlMs: 3000 }, ...extra } });

const online = (app: IMTestingApp, userId: string) => () => app.push.isOnlineAnywhere(userId);

describe('cluster on a MemoryClusterHub: two Nest apps in one process', () => {
  let hub: MemoryClusterHub;
  let a: IMTestingApp;
  let b: IMTestingApp;

  beforeEach(async () => {
    hub = new MemoryClusterHub();
    a = await node(hub, 'a');
    b = await node(hub, 'b');
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('routes C2C to a user on the other node and back, with the ACK semantics of one node', async () => {
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
    // What crossed went through the hub's channels: nothing took the offline path.
    expect(a.app.get(RecordingHandlers).calls.filter((c) => c.startsWith('offline:'))).toEqual([]);
  });

  it('pushes to a user on the other node (delivered on its ACK) and answers offline for a user online nowhere', async () => {
    const bob = await b.login('udp', 'bob');
    await until(online(a, 'bob'));
    const delivered = a.push.send('bob', 'from node a');
    bob.ack(await bob.expect({ type: 2, dataContent: 'from node a' }));
    expect((await delivered).status).toBe('delivered');
    expect((await a.push.send('nobody', 'x')).status).toBe('offline');
  });

  it('a fresh login on the other node kicks the old session (code 1), and the user is reached there', async () => {
    const old = await a.login('tcp', 'alice');
    await until(online(b, 'alice'));
    const fresh = await b.login('ws', 'alice');
    await old.expect({ type: 54, dataContent: '{"code":1}' });
    await old.expectClosed();
    const carol = await a.login('tcp', 'carol');
    await until(async () => !a.push.isOnline('alice') && (await a.push.isOnlineAnywhere('alice')));
    const fp = carol.c2c('alice', 'where are you?');
    await fresh.expect({ type: 2, fp });
    await carol.expect({ type: 4, dataContent: fp });
  });

  it('counts and kicks across nodes; a node that shuts down takes its users out', async () => {
    const bob = await b.login('tcp', 'bob');
    await a.login('ws', 'alice');
    await until(async () => (await a.push.onlineCountAnywhere()) === 2);
    expect(await a.push.kick('bob', 'maintenance')).toBe(true);
    expect(JSON.parse((await bob.expect({ type: 54 })).dataContent as string)).toEqual({ code: 2, reason: 'maintenance' });
    await until(async () => (await a.push.onlineCountAnywhere()) === 1);
    await b.login('tcp', 'dave');
    await until(online(a, 'dave'));
    await b.close();
    expect(await a.push.isOnlineAnywhere('dave')).toBe(false);
    b = await node(hub, 'b');
  });
});

describe('cluster on a MemoryClusterHub: liveness on the hub clock', () => {
  it('a node whose liveness lapsed is off the routing path; its renewal brings its users back without a new login', async () => {
    const hubClock = new ManualClock();
    // The apps' timers (liveness renewal) move only when told: nothing renews behind the test's back.
    const appClock = new ManualClock();
    const hub = new MemoryClusterHub(hubClock);
    const a = await node(hub, 'a', {}, appClock);
    const b = await node(hub, 'b', {}, appClock);
    try {
      const alice = await a.login('tcp', 'alice');
      const bob = await b.login('tcp', 'bob');
      await until(online(a, 'bob'));
      hubClock.advance(3001); // past nodeTtlMs: b (and a) look gone
      expect(await a.push.isOnlineAnywhere('bob')).toBe(false);
      alice.c2c('bob', 'while b looks gone');
      await until(() => a.app.get(RecordingHandlers).calls.includes('offline:bob'));
      appClock.advance(1000); // one renewal period (nodeTtlMs / 3, at most 1 s)
      await until(online(a, 'bob'));
      const fp = alice.c2c('bob', 'b renewed');
      bob.ack(await bob.expect({ type: 2, fp }));
      await alice.expect({ type: 4, dataContent: fp });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('after the hub lost everything (a Redis restarted empty), the next renewal re-asserts every session', async () => {
    const appClock = new ManualClock();
    const hub = new MemoryClusterHub();
    const a = await node(hub, 'a', {}, appClock);
    const b = await node(hub, 'b', {}, appClock);
    try {
      const alice = await a.login('tcp', 'alice');
      const bob = await b.login('ws', 'bob');
      await until(async () => (await a.push.onlineCountAnywhere()) === 2);
      hub.wipe();
      expect(await a.push.isOnlineAnywhere('bob')).toBe(false);
      expect(await b.push.isOnlineAnywhere('alice')).toBe(false);
      appClock.advance(1000); // the renewal finds its liveness gone and writes the node's sessions back
      await until(async () => (await a.push.onlineCountAnywhere()) === 2 && (await b.push.isOnlineAnywhere('alice')));
      const fp = bob.c2c('alice', 'no new login needed');
      alice.ack(await alice.expect({ type: 2, fp }));
      await bob.expect({ type: 4, dataContent: fp });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('cluster on a MemoryClusterHub: route hints', () => {
  it('C2C made while a doubtful hint still has C2C out are sent after those are re-routed: one sender to one recipient stays in order', async () => {
    const hub = new MemoryClusterHub();
    // Node a's clock moves only when told: its route hint to bob goes stale exactly when the test says.
    const clock = new ManualClock();
    const a = await node(hub, 'a', {}, clock);
    const b = await node(hub, 'b');
    const c = await node(hub, 'c');
    try {
      const router = a.app.get<RedisCluster>(IM_CLUSTER);
      const c2c = (i: number): Packet => ({ bridge: false, type: 2, from: 'alice', to: 'bob', fp: `fp-${i}`, dataContent: `m${i}`, QoS: true, typeu: -1, sm: -1 });
      const onB = await b.login('tcp', 'bob');
      await until(online(a, 'bob'));
      // Found by the presence script: node a now holds a hint, bob → b.
      const first = router.forwardC2C(c2c(0));
      onB.ack(await onB.expect({ type: 2, fp: 'fp-0' }));
      expect(await first).toBe('delivered');
      const onC = await c.login('tcp', 'bob');
      await onB.expectClosed();
      await until(() => !b.push.isOnline('bob'));
      // m1 goes on the hint (to b, where bob is no more); the hint then outlives nodeTtlMs / 2, so m2
      // finds it in doubt with m1 still out: m2 waits until m1 came back from b and was routed to c.
      const m1 = router.forwardC2C(c2c(1));
      clock.advance(1600);
      const m2 = router.forwardC2C(c2c(2));
      onC.ack(await onC.expect({ type: 2, fp: 'fp-1' }));
      onC.ack(await onC.expect({ type: 2, fp: 'fp-2' }));
      expect([await m1, await m2]).toEqual(['delivered', 'delivered']);
    } finally {
      await a.close();
      await b.close();
      await c.close();
    }
  });
});
