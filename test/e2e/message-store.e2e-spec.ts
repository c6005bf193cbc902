/**
 * The library's message store on the C2C offline path, PushService `store: true`,
 * delivery at login (stored before newer live messages), and sessions that end
 * with unacknowledged packets — over real sockets, with the memory store and
 * the Redis store (a private redis-server).
 */
import { Injectable } from '@nestjs/common';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { IMErrors, IMEvent, IMModuleOptions, MemoryMessageStore, OnLogin, OnMessagesLost, Packet, PacketType, PushService } from '../../lib';
import { IMTestClient, IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { IMCore } from '../../lib/core/im-core';
import { describeWithRedis } from '../support/redis-server';

/** Accepts every login; no @OnC2COffline, so the library's store takes the offline path. */
@Injectable()
class AcceptAll {
  lost: Packet[] = [];
  @OnLogin()
  login(): number {
    return 0;
  }
  @OnMessagesLost()
  messagesLost(packets: Packet[]): void {
    this.lost.push(...packets);
  }
}

const errorCode = (p: Packet) => (JSON.parse(p.dataContent as string) as { errorCode: number }).errorCode;

/** Reads `n` data packets, ACKing each; returns their texts. */
async function receive(client: IMTestClient, n: number): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = await client.expect({ type: 2 });
    client.ack(p);
    texts.push(p.dataContent as string);
  }
  return texts;
}

function suite(name: string, options: () => IMModuleOptions): void {
  describe(`message store (${name})`, () => {
    let im: IMTestingApp;
    let store: IMCore['store'];
    let handlers: AcceptAll;
    const start = async (extra: IMModuleOptions = {}) => {
      im = await startIMTestingApp({ providers: [AcceptAll], im: { ...options(), ...extra } });
      store = im.app.get(IMCore).store;
      handlers = im.app.get(AcceptAll);
    };
    afterEach(() => im?.close());

    it('offline C2C: stored and ACKed, delivered in order at login (stored before newer live messages), removed on ACK', async () => {
      await start();
      const alice = await im.login('tcp', 'alice');
      const fps: string[] = [];
      for (let i = 0; i < 5; i++) {
        fps.push(alice.c2c('bob', `m${i}`));
        await alice.expect({ type: 4, dataContent: fps[i] });
      }
      expect(await store!.count('bob')).toBe(5);
      const bob = await im.connect('ws');
      const login = bob.login('bob');
      // Sent right after the login: it must still arrive after the stored five.
      await login;
      alice.c2c('bob', 'live');
      expect(await receive(bob, 6)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'live']);
      await until(async () => (await store!.count('bob')) === 0);
    });

    it('at the per-user bound the sender gets IM_STORE_REFUSED (never a silent ACK) and the application an event', async () => {
      await start({ storeLimits: { maxPerUser: 2 } });
      const events = firstValueFrom(im.app.get(PushService).events$.pipe(filter((e: IMEvent) => e.type === 'store-refused'), take(1)));
      const alice = await im.login('tcp', 'alice');
      for (let i = 0; i < 2; i++) await alice.expect({ type: 4, dataContent: alice.c2c('bob', `m${i}`) });
      const fp = alice.c2c('bob', 'one too many');
      const error = await alice.expect({ type: 52, fp });
      expect(errorCode(error)).toBe(IMErrors.STORE_REFUSED.wireCode);
      expect(await events).toMatchObject({ type: 'store-refused', userId: 'bob', fp, reason: 'user-full' });
      expect(im.app.get(IMCore).stats.storeRefused).toBe(1);
    });

    it('refuses what no transport could deliver (too-large), with the reason', async () => {
      await start({ ws: { maxOutboundBytes: 2048 }, tcp: { maxFrameBytes: 8192, maxOutboundBytes: 1024 } });
      const alice = await im.login('tcp', 'alice');
      const fp = alice.c2c('bob', 'x'.repeat(3000));
      const error = await alice.expect({ type: 52, fp });
      expect(errorCode(error)).toBe(IMErrors.STORE_REFUSED.wireCode);
      expect(error.dataContent).toContain('too-large');
    });

    it('PushService store: true answers stored for an offline user and emits delivered after the ACK at login', async () => {
      await start();
      const push = im.app.get(PushService);
      const delivered = firstValueFrom(push.events$.pipe(filter((e: IMEvent) => e.type === 'delivered'), take(1)));
      const result = await push.send('carol', 'kept for you', { store: true });
      expect(result).toMatchObject({ userId: 'carol', status: 'stored' });
      expect(await push.send('carol', 'not kept')).toMatchObject({ status: 'offline' });
      const carol = await im.login('udp', 'carol');
      expect(await receive(carol, 1)).toEqual(['kept for you']);
      expect(await delivered).toMatchObject({ type: 'delivered', userId: 'carol', fp: result.fp });
    });

    it('a session that ends with unacknowledged QoS packets: they go to the store and come back at the next login', async () => {
      await start();
      const alice = await im.login('tcp', 'alice');
      const bob = await im.login('tcp', 'bob');
      const stored = firstValueFrom(im.app.get(PushService).events$.pipe(filter((e: IMEvent) => e.type === 'stored'), take(2), toArray()));
      const fps = [alice.c2c('bob', 'a1'), alice.c2c('bob', 'a2')];
      await bob.expect({ type: 2, fp: fps[0] });
      await bob.expect({ type: 2, fp: fps[1] });
      bob.close(); // never ACKed
      expect((await stored).map((e) => e.type === 'stored' && e.reason)).toEqual(['undelivered', 'undelivered']);
      const again = await im.login('ws', 'bob');
      expect(await receive(again, 2)).toEqual(['a1', 'a2']);
      await until(async () => (await store!.count('bob')) === 0);
      expect(handlers.lost).toEqual([]);
    });

    it('store: false keeps the old behaviour: no ACK for an offline C2C, IM_UNDELIVERABLE to a client that asked', async () => {
      await start({ store: false });
      expect(store).toBeNull();
      const alice = await im.connect('tcp');
      alice.send({ type: PacketType.LOGIN, from: 'alice', to: '0', dataContent: JSON.stringify({ loginUserId: 'alice', loginToken: 't', notifyUndeliverable: true }) });
      await alice.expect({ type: 50 });
      (alice as unknown as { userId: string }).userId = 'alice';
      const fp = alice.c2c('bob', 'nobody keeps this');
      expect(errorCode(await alice.expect({ type: 52, fp }))).toBe(IMErrors.UNDELIVERABLE.wireCode);
    });
  });
}

suite('memory', () => ({}));

describeWithRedis('with Redis', (redis) => {
  let n = 0;
  suite('redis', () => ({ store: { redis: redis.url, keyPrefix: `e2e${++n}:` } }));
});

describe('message store: per-recipient order at login', () => {
  /** A memory store whose reads wait for the test to open the gate: the backlog is "being read" for as long as we like. */
  class GatedStore extends MemoryMessageStore {
    gate!: () => void;
    private opened = new Promise<void>((resolve) => (this.gate = resolve));
    reads = 0;
    override async read(userId: string, limit: number, afterId?: string) {
      this.reads++;
      await this.opened;
      return super.read(userId, limit, afterId);
    }
  }

  it('holds live C2C and S2C for a user until its stored backlog is written (a custom IMMessageStore)', async () => {
    const store = new GatedStore({ maxPerUser: 100, maxTotal: 1000, ttlMs: 60_000, maxMessageBytes: 65536 });
    const im = await startIMTestingApp({ providers: [AcceptAll], im: { store } });
    try {
      const alice = await im.login('tcp', 'alice');
      for (const text of ['old1', 'old2']) await alice.expect({ type: 4, dataContent: alice.c2c('bob', text) });
      const bob = await im.login('ws', 'bob');
      await until(() => store.reads > 0);
      // Live traffic while the backlog read is still pending: the sender is ACKed, the packet waits its turn.
      await alice.expect({ type: 4, dataContent: alice.c2c('bob', 'live c2c') });
      const pushed = im.app.get(PushService).send('bob', 'live push');
      await bob.expectNothing(50);
      store.gate();
      expect(await receive(bob, 4)).toEqual(['old1', 'old2', 'live c2c', 'live push']);
      expect(await pushed).toMatchObject({ status: 'delivered' });
      await until(async () => (await store.count('bob')) === 0);
    } finally {
      await im.close();
      await store.close();
    }
  });
});
