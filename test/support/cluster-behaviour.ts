/**
 * One cluster behaviour suite for every cluster backend (a redis-server, a Redis Cluster, a
 * MemoryClusterHub): what users and applications see of a two-node cluster must not depend on
 * what carries presence and the nodes' channels. Each backend's spec file calls
 * {@link clusterBehaviour} with its backend and keeps only the scenarios that reach into the
 * backend itself (raw Redis data, a dropped connection, the hub's clock).
 */
import { LoggerService } from '@nestjs/common';
import { IMModuleOptions } from '../../lib';
import { IMTestClient, IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { RecordingHandlers } from '../e2e/fixtures/recording-handlers';
import { CapturingLogger } from './capturing-logger';

/** What the suite needs of a backend. */
export interface ClusterBackend {
  /** Begins a fresh, empty cluster for the next test (a new key prefix on the same Redis, a new hub). */
  fresh(): void;
  /** The `cluster` option of node `nodeId` of the current cluster. */
  cluster(nodeId: string): NonNullable<IMModuleOptions['cluster']>;
  /** How many users the current cluster's presence holds (read after every node stopped). */
  presenceSize(): Promise<number>;
}

/** Starts node `nodeId` of the backend's current cluster, with the e2e suites' RecordingHandlers. */
export function startClusterNode(
  backend: ClusterBackend,
  nodeId: string,
  options: { im?: IMModuleOptions; logger?: LoggerService } = {},
): Promise<IMTestingApp> {
  return startIMTestingApp({ providers: [RecordingHandlers], logger: options.logger, im: { cluster: backend.cluster(nodeId), ...options.im } });
}

/** Nodes a and b of a fresh cluster, started before each test. */
export interface TwoNodes {
  readonly a: IMTestingApp;
  readonly b: IMTestingApp;
  /** Starts another node of the test's cluster (closed after the test, as a and b). */
  node(nodeId: string, extra?: IMModuleOptions): Promise<IMTestingApp>;
}

/**
 * Registers beforeEach/afterEach that start nodes a and b on a fresh cluster and, after the test,
 * close every node it started. Closing is once per node, so a test may stop a node itself.
 */
export function twoNodes(backend: ClusterBackend): TwoNodes {
  let a: IMTestingApp | undefined;
  let b: IMTestingApp | undefined;
  const started: IMTestingApp[] = [];
  const node = async (nodeId: string, extra: IMModuleOptions = {}) => {
    const app = await startClusterNode(backend, nodeId, {
      im: {
        // UDP recipients too: one retransmission, then lost, as on TCP (the UDP backoff policy has its own tests).
        qos: { retransmitIntervalMs: 300, udpRetransmitIntervalMs: 300, udpRetransmitBackoff: 1, udpMaxRetransmits: 1, udpRetransmitLifetimeMs: 300 },
        ...extra,
      },
    });
    const close = app.close.bind(app);
    let closing: Promise<void> | undefined;
    app.close = () => (closing ??= close());
    started.push(app);
    return app;
  };
  beforeEach(async () => {
    backend.fresh();
    a = await node('a');
    b = await node('b');
  });
  afterEach(async () => {
    for (const app of started.splice(0)) await app.close();
  });
  const current = (app: IMTestingApp | undefined) => {
    if (!app) throw new Error('two nodes: used outside a test');
    return app;
  };
  return {
    get a() {
      return current(a);
    },
    get b() {
      return current(b);
    },
    node,
  };
}

/**
 * `sender` sends `recipient`'s user one C2C, `recipient` ACKs it, and the sender gets its delivery
 * receipt: a message went through whole. Returns its fp.
 */
export async function sendAcked(sender: IMTestClient, recipient: IMTestClient, text: string): Promise<string> {
  if (recipient.userId === undefined) throw new Error('sendAcked: the recipient is not logged in');
  const fp = sender.c2c(recipient.userId, text);
  recipient.ack(await recipient.expect({ type: 2, fp }));
  await sender.expect({ type: 4, dataContent: fp });
  return fp;
}

const online = (app: IMTestingApp, userId: string) => () => app.push.isOnlineAnywhere(userId);
const offlineCalls = (app: IMTestingApp) => app.app.get(RecordingHandlers).calls.filter((c) => c.startsWith('offline:'));

/** The backend-independent two-node scenarios, in `describe`s of their own. */
export function clusterBehaviour(backend: ClusterBackend): void {
  describe('two nodes', () => {
    const nodes = twoNodes(backend);

    it('routes C2C to a user on the other node and back, with the ACK semantics of one node', async () => {
      const { a, b } = nodes;
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
      // What crossed went through the nodes' channels: nothing took the offline path.
      expect(offlineCalls(a)).toEqual([]);
      expect(offlineCalls(b)).toEqual([]);
    });

    /**
     * Alice and carol on `home`, bob on node b: alice sends bob `n` C2C at once, then carol one; bob
     * and carol receive each (in the order sent) and ACK it.
     */
    const acrossThenLocal = async (home: IMTestingApp, n: number) => {
      const alice = await home.login('tcp', 'alice');
      const carol = await home.login('tcp', 'carol');
      const bob = await nodes.b.login('ws', 'bob');
      await until(online(home, 'bob'));
      const across = Array.from({ length: n }, (_, i) => alice.c2c('bob', `m${i}`));
      const local = alice.c2c('carol', 'local, sent after them');
      for (const fp of across) bob.ack(await bob.expect({ type: 2, fp }));
      carol.ack(await carol.expect({ type: 2, fp: local }));
      return { alice, across, local };
    };

    it('pipelines cross-node C2C: many in flight from one session, in the order sent, local messages not held behind them', async () => {
      const { a } = nodes;
      const { alice, across, local } = await acrossThenLocal(a, 50);
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
      const { a, b } = nodes;
      const alice = await a.login('tcp', 'alice');
      const bob = await b.login('ws', 'bob');
      await until(online(a, 'bob'));
      await sendAcked(alice, bob, 'to b');
      return { alice, bob };
    };

    it('a recipient who moved to another node is reached there, in order, though the sender still has the old route', async () => {
      const { a, b } = nodes;
      const { alice, bob } = await withRouteHint();
      const c = await nodes.node('c');
      const moved = await c.login('tcp', 'bob');
      await bob.expect({ type: 54, dataContent: '{"code":1}' });
      await until(() => !b.push.isOnline('bob'));
      // Node b answers "not here" to what node a still sends it; node a routes those again, in the order sent.
      const fps = Array.from({ length: 20 }, (_, i) => alice.c2c('bob', `moved ${i}`));
      for (const fp of fps) moved.ack(await moved.expect({ type: 2, fp }));
      const acked = new Set<string>();
      while (acked.size < fps.length) acked.add((await alice.expect({ type: 4 })).dataContent as string);
      expect(acked).toEqual(new Set(fps));
      expect(offlineCalls(a)).toEqual([]);
    });

    it('a recipient whose node is gone is reached on the node it logged in to since, not sent offline', async () => {
      const { a, b } = nodes;
      const { alice } = await withRouteHint();
      await b.close();
      const c = await nodes.node('c');
      const again = await c.login('tcp', 'bob');
      await until(online(a, 'bob'));
      // Nobody listens on node b's channel any more: node a routes by presence instead.
      await sendAcked(alice, again, 'b is gone');
      expect(offlineCalls(a)).toEqual([]);
    });

    it('limits.maxCrossNodeInFlight: past it the session waits for its cross-node sends (counted), and nothing is lost', async () => {
      const c = await nodes.node('c', { limits: { maxCrossNodeInFlight: 1 } });
      const { across, local } = await acrossThenLocal(c, 5);
      const delivered = c.app.get(RecordingHandlers).calls.filter((x) => x.startsWith('c2cDelivered:'));
      expect(delivered).toEqual([...across, local].map((fp) => `c2cDelivered:${fp}`));
      expect(c.push.stats.crossNodeWaits).toBe(5);
    });

    it('takes the offline path for a user online nowhere', async () => {
      const { a } = nodes;
      const alice = await a.login('tcp', 'alice');
      alice.c2c('nobody', 'hello?');
      await alice.expectNothing(200);
      expect(a.app.get(RecordingHandlers).calls).toContain('offline:nobody');
    });

    it('pushes to a user on the other node: delivered on ACK, lost without, offline when nowhere', async () => {
      const { a, b } = nodes;
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
      const { a, b } = nodes;
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
      const { a, b } = nodes;
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
      const { a, b } = nodes;
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
      const { a, b } = nodes;
      const bob = await b.login('tcp', 'bob');
      await a.login('ws', 'alice');
      await until(async () => (await a.push.onlineCountAnywhere()) === 2);
      expect(await a.push.kick('bob', 'maintenance')).toBe(true);
      expect(JSON.parse((await bob.expect({ type: 54 })).dataContent as string)).toEqual({ code: 2, reason: 'maintenance' });
      await until(async () => !(await a.push.isOnlineAnywhere('bob')) && (await a.push.onlineCountAnywhere()) === 1);
      expect(await a.push.kick('bob')).toBe(false);
    });

    it('a node that shuts down takes its users out of presence', async () => {
      const { a, b } = nodes;
      await b.login('tcp', 'bob');
      await until(online(a, 'bob'));
      await b.close();
      expect(await a.push.isOnlineAnywhere('bob')).toBe(false);
    });
  });

  describe('clean shutdown', () => {
    it('logs no error or warning when nodes stop cleanly (shutdown hooks run once), and leaves presence empty', async () => {
      const logs = new CapturingLogger();
      backend.fresh();
      const a = await startClusterNode(backend, 'a', { logger: logs });
      const b = await startClusterNode(backend, 'b', { logger: logs });
      try {
        const alice = await a.login('tcp', 'alice');
        const bob = await b.login('ws', 'bob');
        await until(online(a, 'bob'));
        await sendAcked(alice, bob, 'before shutdown');
      } finally {
        await a.close();
        await b.close();
      }
      // The capture saw the nodes' own lines, so silence about errors means something.
      expect(logs.lines('log')).toContainEqual(expect.stringMatching(/\[IMCluster\] node a joined the cluster/));
      expect(logs.lines('error', 'fatal', 'warn')).toEqual([]);
      expect(await backend.presenceSize()).toBe(0);
    });
  });
}
