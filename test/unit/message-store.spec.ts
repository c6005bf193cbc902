/**
 * One contract for both message stores (memory and Redis): the core relies on
 * exactly these properties, whichever twin is configured.
 */
import Redis from 'ioredis';
import { Packet, PacketType } from '../../lib/protocol';
import { IMMessageStore, MemoryMessageStore, MessageStoreLimits, RedisMessageStore } from '../../lib/store';
import { describeWithRedis } from '../support/redis-server';

const LIMITS: MessageStoreLimits = { maxPerUser: 5, maxTotal: 8, ttlMs: 60_000, maxMessageBytes: 512 };

function msg(to: string, fp: string, dataContent = `text ${fp}`): Packet {
  return { bridge: false, type: PacketType.DATA, dataContent, from: 'alice', to, fp, QoS: true, typeu: -1, sm: -1 };
}

function contract(name: string, make: (limits: MessageStoreLimits) => Promise<IMMessageStore>, opts: { total: boolean }): void {
  describe(`${name}: the message store contract`, () => {
    let store: IMMessageStore;
    let seq = 0;
    // Each test its own user ids: the Redis twin shares one server per suite.
    const user = (u: string) => `${u}-${seq}`;
    beforeEach(async () => {
      seq++;
      store = await make(LIMITS);
    });
    afterEach(() => store.close());

    it('reads back what was appended, oldest first, and pages with the cursor', async () => {
      for (const fp of ['a', 'b', 'c', 'd']) expect(await store.append(user('bob'), msg(user('bob'), fp))).toEqual({ ok: true, duplicate: false });
      const first = await store.read(user('bob'), 3);
      expect(first.map((m) => m.packet.fp)).toEqual(['a', 'b', 'c']);
      expect(first[0].packet).toEqual(msg(user('bob'), 'a'));
      const rest = await store.read(user('bob'), 3, first[2].id);
      expect(rest.map((m) => m.packet.fp)).toEqual(['d']);
      expect(await store.read(user('carol'), 10)).toEqual([]);
      expect(await store.count(user('bob'))).toBe(4);
    });

    it('stores one copy of a retransmitted fp and removes by fp after the ACK', async () => {
      await store.append(user('bob'), msg(user('bob'), 'a'));
      expect(await store.append(user('bob'), msg(user('bob'), 'a'))).toEqual({ ok: true, duplicate: true });
      await store.append(user('bob'), msg(user('bob'), 'b'));
      expect(await store.count(user('bob'))).toBe(2);
      expect(await store.remove(user('bob'), 'a')).toBe(true);
      expect(await store.remove(user('bob'), 'a')).toBe(false);
      expect((await store.read(user('bob'), 10)).map((m) => m.packet.fp)).toEqual(['b']);
      // Removed, then stored again (a redelivery the client did not ACK in time): a new copy at the end.
      expect(await store.append(user('bob'), msg(user('bob'), 'a'))).toEqual({ ok: true, duplicate: false });
      expect((await store.read(user('bob'), 10)).map((m) => m.packet.fp)).toEqual(['b', 'a']);
    });

    it('refuses past the per-user bound, and accepts again after a removal', async () => {
      for (let i = 0; i < LIMITS.maxPerUser; i++) expect((await store.append(user('bob'), msg(user('bob'), `m${i}`))).ok).toBe(true);
      expect(await store.append(user('bob'), msg(user('bob'), 'over'))).toEqual({ ok: false, reason: 'user-full' });
      expect((await store.append(user('carol'), msg(user('carol'), 'x'))).ok).toBe(true);
      await store.remove(user('bob'), 'm0');
      expect((await store.append(user('bob'), msg(user('bob'), 'over'))).ok).toBe(true);
      expect(await store.count(user('bob'))).toBe(LIMITS.maxPerUser);
    });

    it('refuses a message larger than maxMessageBytes, with the reason', async () => {
      expect(await store.append(user('bob'), msg(user('bob'), 'big', 'x'.repeat(600)))).toEqual({ ok: false, reason: 'too-large' });
      expect(await store.count(user('bob'))).toBe(0);
    });

    if (opts.total) {
      it('refuses past the total bound', async () => {
        for (let i = 0; i < LIMITS.maxTotal; i++) expect((await store.append(user(`u${i}`), msg(user(`u${i}`), 'm'))).ok).toBe(true);
        expect(await store.append(user('late'), msg(user('late'), 'm'))).toEqual({ ok: false, reason: 'store-full' });
      });
    }
  });
}

contract('MemoryMessageStore', async (limits) => new MemoryMessageStore(limits), { total: true });

describe('MemoryMessageStore TTL', () => {
  it('drops messages older than ttlMs and frees their room', async () => {
    let now = 1_000;
    const store = new MemoryMessageStore({ ...LIMITS, ttlMs: 100 }, () => now);
    await store.append('bob', msg('bob', 'old'));
    now += 60;
    await store.append('bob', msg('bob', 'new'));
    now += 50;
    expect((await store.read('bob', 10)).map((m) => m.packet.fp)).toEqual(['new']);
    now += 100;
    store.sweep();
    expect(store.size).toBe(0);
    await store.close();
  });
});

describeWithRedis('RedisMessageStore', (redis) => {
  let prefix = 0;
  contract('RedisMessageStore', async (limits) => new RedisMessageStore({ redis: redis.url, keyPrefix: `t${++prefix}:` }, limits), { total: false });

  it('hold/release keep a copy outside the queue; recover moves what is left into it, oldest first, skipping queued fps', async () => {
    const store = new RedisMessageStore({ redis: redis.url, keyPrefix: 'hold:' }, LIMITS);
    try {
      await store.append('bob', msg('bob', 'queued'));
      for (const fp of ['h1', 'h2', 'queued', 'h3']) expect((await store.hold!('bob', msg('bob', fp))).ok).toBe(true);
      await store.release!('bob', 'h2'); // ACKed
      expect(await store.count('bob')).toBe(1);
      await store.recover!('bob');
      expect((await store.read('bob', 10)).map((m) => m.packet.fp)).toEqual(['queued', 'h1', 'h3']);
      await store.recover!('bob'); // nothing held any more
      expect(await store.count('bob')).toBe(3);
      expect(await store.hold!('bob', msg('bob', 'big', 'x'.repeat(600)))).toEqual({ ok: false, reason: 'too-large' });
    } finally {
      await store.close();
    }
  });

  it('keys are hash-tagged by user, expire with the TTL, and an outage is a typed refusal', async () => {
    const client = new Redis(redis.url);
    const store = new RedisMessageStore({ redis: client, keyPrefix: 'tag:' }, { ...LIMITS, ttlMs: 200 });
    await store.append('bob', msg('bob', 'a'));
    expect((await client.keys('tag:*')).sort()).toEqual(['tag:{bob}:f', 'tag:{bob}:s']);
    const pttl = await client.pttl('tag:{bob}:s');
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(200);
    await store.close(); // not owned: the application's connection stays open
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    const down = new RedisMessageStore({ redis: { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, retryStrategy: () => null } }, LIMITS);
    expect(await down.append('bob', msg('bob', 'a'))).toEqual({ ok: false, reason: 'unavailable' });
    await down.close();
  });
});
