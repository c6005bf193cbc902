/**
 * One contract for both presence twins (memory and Redis): the cluster relies on exactly these
 * properties, whichever twin it runs on. Liveness is driven through the twin: the memory hub's
 * clock is moved by hand, the Redis twin waits until Redis' own clock (TIME) has moved.
 */
import Redis from 'ioredis';
import { ClusterKeys, RedisPresence } from '../../lib/cluster/redis-presence';
import { IMPresence, PRESENCE_BATCH } from '../../lib/cluster/presence';
import { PresenceEntry } from '../../lib/cluster/presence-entry';
import { ManualClock, MemoryClusterHub, MemoryPresence, until } from '../../lib/testing';
import { describeWithRedis } from '../support/redis-server';

/** One cluster's presence store, as the contract drives it. */
interface PresenceTwin {
  /** The presence of node `nodeId` (one per node, all on this twin's store). */
  node(nodeId: string): IMPresence;
  /** Returns once `ms` have passed on the store's clock. */
  pass(ms: number): Promise<void>;
  /** Empties the store, as a Redis restarted empty. */
  wipe(): Promise<void>;
  /** Collects what is published to node `nodeId`'s channel. */
  listen(nodeId: string): Promise<{ messages: string[]; close(): Promise<void> }>;
  close(): Promise<void>;
}

const LONG = 60_000;
/** A liveness that lapses within the test: renewed for SHORT, then SHORT + 10 ms pass. */
const SHORT = 50;

const at = (nodeId: string, sessionId: number, firstLoginTime = 1_000): PresenceEntry => ({ nodeId, sessionId, firstLoginTime });

function contract(name: string, makeTwin: () => Promise<PresenceTwin>): void {
  describe(`${name}: the presence contract`, () => {
    let twin: PresenceTwin;
    let a: IMPresence;
    let b: IMPresence;
    let c: IMPresence;
    beforeEach(async () => {
      twin = await makeTwin();
      [a, b, c] = ['a', 'b', 'c'].map((n) => twin.node(n));
      await a.renew(LONG);
      await b.renew(LONG);
      await c.renew(LONG);
    });
    afterEach(() => twin.close());

    const lapse = async (node: IMPresence) => {
      await node.renew(SHORT);
      await twin.pass(SHORT + 10);
    };

    it('renew says whether the liveness was still running', async () => {
      const d = twin.node('d');
      expect(await d.renew(SHORT)).toBe(false); // never written
      expect(await d.renew(SHORT)).toBe(true);
      await twin.pass(SHORT + 10);
      expect(await d.renew(LONG)).toBe(false); // lapsed (paused, or the store lost it)
      await d.withdraw();
      expect(await d.renew(LONG)).toBe(false);
    });

    it('a claim returns the entry it replaced; the last claim wins; each claimer holds the user in its set', async () => {
      expect(await a.claim('u', at('a', 1))).toBeUndefined();
      expect(await b.claim('u', at('b', 7))).toEqual(at('a', 1));
      expect(await a.lookupMany(['u', 'x', 'u'])).toEqual([at('b', 7), undefined, at('b', 7)]);
      // a keeps the user in its set until the duplicate-login request has settled (forget or release).
      expect(await a.ownCount()).toBe(1);
      expect(await b.ownCount()).toBe(1);
    });

    it('duplicate-login tie: two claims at once with the same firstLoginTime: exactly one names the other, and it is the one that stays', async () => {
      for (let round = 0; round < 20; round++) {
        const user = `tie-${round}`;
        const [fromA, fromB] = await Promise.all([a.claim(user, at('a', round)), b.claim(user, at('b', round))]);
        const [now] = await c.lookupMany([user]);
        // The claim applied second replaced the first and names that very session: the winner is unique.
        expect([fromA, fromB].filter((p) => p === undefined)).toHaveLength(1);
        if (fromA === undefined) {
          expect(fromB).toEqual(at('a', round));
          expect(now).toEqual(at('b', round));
        } else {
          expect(fromA).toEqual(at('b', round));
          expect(now).toEqual(at('a', round));
        }
      }
    });

    it('restore puts back the entry a refused login replaced, unless another claim came since', async () => {
      await a.claim('u', at('a', 1, 500));
      const previous = await b.claim('u', at('b', 2, 900));
      await b.restore('u', at('b', 2, 900), previous as PresenceEntry);
      expect(await c.lookupMany(['u'])).toEqual([at('a', 1, 500)]);

      await a.claim('v', at('a', 3));
      const replaced = await b.claim('v', at('b', 4));
      await c.claim('v', at('c', 5));
      await b.restore('v', at('b', 4), replaced as PresenceEntry);
      expect(await a.lookupMany(['v'])).toEqual([at('c', 5)]);
    });

    it('release removes the entry only for the session that holds it; the user leaves the releasing node set either way', async () => {
      await a.claim('u', at('a', 1));
      await a.release('u', 2); // another, older session of a
      expect(await b.lookupMany(['u'])).toEqual([at('a', 1)]);
      expect(await a.ownCount()).toBe(0);
      await b.release('u', 1); // the same session number on another node
      expect(await b.lookupMany(['u'])).toEqual([at('a', 1)]);
      await a.claim('u', at('a', 1));
      await b.claim('u', at('b', 9));
      await a.release('u', 1); // superseded: b's entry stays
      expect(await c.lookupMany(['u'])).toEqual([at('b', 9)]);
      await b.release('u', 9);
      expect(await c.lookupMany(['u'])).toEqual([undefined]);
      expect(await b.ownCount()).toBe(0);
    });

    it("release compares the whole node id: node 'n' cannot release the entry of node 'n|7' (ids may contain '|')", async () => {
      const n = twin.node('n');
      const n7 = twin.node('n|7');
      await n.renew(LONG);
      await n7.renew(LONG);
      await n7.claim('u', at('n|7', 1));
      // The entry reads "n|7|1|<time>", which begins with "n|7|": the prefix of node n's session 7.
      await n.release('u', 7);
      expect(await a.lookupMany(['u'])).toEqual([at('n|7', 1)]);
      await n.claim('v', at('n', 2));
      await n.clearOwn(); // any session of node n, still not node n|7's
      expect(await a.lookupMany(['u', 'v'])).toEqual([at('n|7', 1), undefined]);
      await n7.release('u', 1);
      expect(await a.lookupMany(['u'])).toEqual([undefined]);
    });

    it('forget takes the user out of this node set only', async () => {
      await a.claim('u', at('a', 1));
      await b.claim('u', at('b', 2));
      await a.forget('u');
      expect(await a.ownCount()).toBe(0);
      expect(await c.lookupMany(['u'])).toEqual([at('b', 2)]);
    });

    it('lookups ignore the entries of a node whose liveness lapsed, and leave them in place for its return', async () => {
      await a.claim('ua', at('a', 1));
      await b.claim('ub', at('b', 2));
      await lapse(b);
      expect(await a.lookupMany(['ua', 'ub'])).toEqual([at('a', 1), undefined]);
      // b was only paused: it renews and its user is reachable again without a new claim.
      expect(await b.renew(LONG)).toBe(false);
      expect(await a.lookupMany(['ub'])).toEqual([at('b', 2)]);
      await b.withdraw();
      expect(await a.lookupMany(['ub'])).toEqual([undefined]);
    });

    it('route publishes each live other node its requests, in order, as one message, and says where each went', async () => {
      const d = twin.node('d');
      await d.renew(LONG);
      await b.claim('ub', at('b', 1));
      await c.claim('uc', at('c', 2));
      await a.claim('ua', at('a', 3));
      await d.claim('ud', at('d', 4));
      await d.withdraw();
      const atB = await twin.listen('b');
      try {
        const items: Array<[string, string]> = [['ub', '1'], ['uc', '2'], ['ub', '3'], ['ua', '4'], ['ud', '5'], ['nobody', '6'], ['ub', '7']];
        const { nodes, receivers } = await a.route(items, 'H[');
        // Own node, a node that is gone, nowhere: not sent. c is live but nobody listens on its channel.
        expect(nodes).toEqual(['b', 'c', 'b', undefined, undefined, undefined, 'b']);
        expect(receivers).toEqual(new Map([['b', 1], ['c', 0]]));
        await until(() => atB.messages.length === 1);
        expect(atB.messages).toEqual(['H[1,3,7]}']);
      } finally {
        await atB.close();
      }
    });

    it('reassert writes this node sessions back after a wipe, overwrites a gone node entry, and returns the ones a live node holds', async () => {
      await a.claim('u1', at('a', 1));
      await a.claim('u2', at('a', 2));
      await twin.wipe();
      expect(await b.lookupMany(['u1', 'u2'])).toEqual([undefined, undefined]);
      expect(await a.renew(LONG)).toBe(false); // the wipe took the liveness too: this is how a node notices
      await b.renew(LONG);
      await c.renew(LONG);
      await b.claim('u2', at('b', 5)); // logged in on b during the outage
      await c.claim('u3', at('c', 6));
      await lapse(c);
      const conflicts = await a.reassert([['u1', at('a', 1)], ['u2', at('a', 2)], ['u3', at('a', 3)]]);
      expect(conflicts).toEqual([['u2', at('b', 5)]]);
      expect(await b.lookupMany(['u1', 'u2', 'u3'])).toEqual([at('a', 1), at('b', 5), at('a', 3)]);
      expect(await a.ownCount()).toBe(2);
      // Re-asserting again is harmless.
      expect(await a.reassert([['u1', at('a', 1)], ['u3', at('a', 3)]])).toEqual([]);
      expect(await a.ownCount()).toBe(2);
    });

    it('sweep removes a dead node entries in batches, spares users claimed elsewhere since, then forgets the node', async () => {
      const users = Array.from({ length: PRESENCE_BATCH + 1 }, (_, i) => `u${i}`);
      await b.reassert(users.map((u, i): [string, PresenceEntry] => [u, at('b', i)]));
      await a.reassert([['mine', at('a', 1)]]);
      await a.claim('u0', at('a', 2)); // u0 moved to a; b's set still lists it
      await lapse(b);
      expect(await a.sweep(1)).toBe(1);
      expect(await b.ownCount()).toBe(1); // one batch of PRESENCE_BATCH taken
      expect(await a.sweep(100)).toBe(1);
      expect(await b.ownCount()).toBe(0);
      expect(await a.sweep(100)).toBe(0); // b is forgotten
      // b comes back: its old entries are gone, the user claimed on a and a's own are not.
      await b.renew(LONG);
      expect(await c.lookupMany(['u0', 'u1', users[PRESENCE_BATCH], 'mine'])).toEqual([at('a', 2), undefined, undefined, at('a', 1)]);
    });

    it('sweep leaves live nodes alone and forgets a lapsed node that held nothing', async () => {
      await a.reassert([['ua', at('a', 1)]]);
      await lapse(c);
      expect(await b.sweep(100)).toBe(1);
      expect(await b.sweep(100)).toBe(0);
      expect(await b.lookupMany(['ua'])).toEqual([at('a', 1)]);
    });

    it("this node's calls take effect in the order made: a claim then a release in one turn leave nothing, a count counts the claims before it", async () => {
      const claimed = a.claim('brief', at('a', 1));
      const released = a.release('brief', 1);
      const counted = a.claim('counted', at('a', 2));
      const held = a.ownCount();
      await Promise.all([claimed, released, counted]);
      expect(await held).toBe(1);
      expect(await a.lookupMany(['brief', 'counted'])).toEqual([undefined, at('a', 2)]);
    });

    it('count adds the users of the listed live nodes; ownCount is this node set', async () => {
      await a.reassert([['a1', at('a', 1)], ['a2', at('a', 2)]]);
      await b.reassert([['b1', at('b', 3)]]);
      await c.reassert([['c1', at('c', 4)], ['c2', at('c', 5)]]);
      await a.claim('a3', at('a', 6));
      expect(await b.count()).toBe(6);
      expect(await a.ownCount()).toBe(3);
      await lapse(c);
      expect(await b.count()).toBe(4);
      await b.withdraw();
      expect(await a.count()).toBe(3);
    });

    it('clearOwn removes this node entries (not those claimed elsewhere since), its set, and it from the nodes', async () => {
      await a.reassert([['u1', at('a', 1)], ['u2', at('a', 2)]]);
      await b.reassert([['b1', at('b', 3)]]);
      await b.claim('u2', at('b', 4));
      await a.clearOwn();
      expect(await c.lookupMany(['u1', 'u2'])).toEqual([undefined, at('b', 4)]);
      expect(await a.ownCount()).toBe(0);
      expect(await c.count()).toBe(2); // b's: b1, u2
    });
  });
}

contract('MemoryPresence', async () => {
  const clock = new ManualClock();
  const hub = new MemoryClusterHub(clock);
  return {
    node: (nodeId) => new MemoryPresence(hub, nodeId),
    pass: async (ms) => clock.advance(ms),
    wipe: async () => hub.wipe(),
    listen: async (nodeId) => {
      const messages: string[] = [];
      const stop = hub.subscribe(nodeId, (text) => messages.push(text));
      return { messages, close: async () => stop() };
    },
    close: async () => undefined,
  };
});

describe('MemoryClusterHub pub/sub (what stands in for Redis PUBLISH)', () => {
  it('counts the listeners at publish time, delivers on a later turn in the order published, and stops after unsubscribe', async () => {
    const hub = new MemoryClusterHub();
    const heard: string[] = [];
    const stopFirst = hub.subscribe('b', (t) => heard.push(`1:${t}`));
    hub.subscribe('b', (t) => heard.push(`2:${t}`));
    expect(hub.publish('b', 'x')).toBe(2);
    expect(hub.publish('b', 'y')).toBe(2);
    expect(hub.publish('c', 'z')).toBe(0);
    expect(heard).toEqual([]); // never inside the publisher's call
    await until(() => heard.length === 4);
    expect(heard).toEqual(['1:x', '2:x', '1:y', '2:y']);
    stopFirst();
    expect(hub.publish('b', 'w')).toBe(1);
    await until(() => heard.length === 5);
    expect(heard[4]).toBe('2:w');
  });
});

describeWithRedis('RedisPresence', (redis) => {
  let seq = 0;
  contract('RedisPresence', async () => {
    const client = new Redis(redis.url);
    // Each test its own prefix: one server serves the suite.
    const keys = new ClusterKeys(`presence-${++seq}:`);
    const redisNow = async () => {
      const [s, us] = await client.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
    return {
      node: (nodeId) => new RedisPresence(client, keys, nodeId),
      pass: async (ms) => {
        const end = (await redisNow()) + ms;
        await until(async () => (await redisNow()) >= end, { intervalMs: 5 });
      },
      wipe: async () => void (await client.flushdb()),
      listen: async (nodeId) => {
        const messages: string[] = [];
        const subscriber = new Redis(redis.url);
        subscriber.on('message', (_channel: string, text: string) => messages.push(text));
        await subscriber.subscribe(keys.channel(nodeId));
        return { messages, close: async () => subscriber.disconnect() };
      },
      close: async () => client.disconnect(),
    };
  });
});
