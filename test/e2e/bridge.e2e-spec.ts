import { INestApplication, Logger } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { IM_BRIDGE, IMBridge, IMEvent, IMModule, IMModuleOptions, IMPorts, Packet, PushService, TransportKind } from '../../lib';
import { IMTestClient, IMTestingApp, startIMTestingApp, until as untilHolds } from '../../lib/testing';
import { OfflineStore } from '../../sample-app/offline/offline.store';
import { redisServerAvailable, startRedisServer, TestRedisServer } from '../support/redis-server';
import { startSampleApp } from '../support/sample-app';
import { AMQP_URL, BrokerProxy, openTestChannel, rabbitAvailable } from './fixtures/rabbit';
import { RecordingHandlers } from './fixtures/recording-handlers';

const RABBIT = rabbitAvailable();
if (!RABBIT) process.stdout.write(`RabbitMQ not reachable at ${AMQP_URL}: the MobileIMSDK-Web bridge suite is skipped\n`);
const describeRabbit = RABBIT ? describe : describe.skip;

/** Generous: on a busy 2-core machine a broker round trip can take a while. */
const WAIT = 10_000;

/** Polls until `check` holds (the testing kit's `until`, with this file's generous default). */
const until = (check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT) => untilHolds(check, { timeoutMs, message: what });

describeRabbit('MobileIMSDK-Web bridge on RabbitMQ: two servers, one per side', () => {
  let queues: { app2webQueue: string; web2appQueue: string };
  let proxy: BrokerProxy;
  let app: IMTestingApp;
  let web: IMTestingApp;
  const started: IMTestingApp[] = [];

  /** A server on one side of the bridge; the app side reaches the broker through the test's proxy. */
  const server = async (side: 'app' | 'web', extra: IMModuleOptions = {}) => {
    const im = await startIMTestingApp({
      providers: [RecordingHandlers],
      im: {
        qos: { retransmitIntervalMs: 500 },
        bridge: { url: side === 'app' ? proxy.url() : AMQP_URL, side, ...queues, reconnectDelayMs: 100, confirmTimeoutMs: 5000 },
        ...extra,
      },
    });
    started.push(im);
    return im;
  };
  const bridgeOf = (im: IMTestingApp) => im.app.get<IMBridge>(IM_BRIDGE);
  const handlers = (im: IMTestingApp) => im.app.get(RecordingHandlers);

  beforeEach(async () => {
    const suffix = randomBytes(4).toString('hex');
    queues = { app2webQueue: `q_app2web-test-${suffix}`, web2appQueue: `q_web2app-test-${suffix}` };
    proxy = await BrokerProxy.start();
    app = await server('app');
    web = await server('web');
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const im of started.splice(0)) await im.close();
    await proxy.close();
    await deleteQueues(queues);
  });

  /** Sends one QoS C2C from `sender` to `recipient` across the bridge and checks every step of its delivery. */
  async function roundTrip(sender: IMTestClient, recipient: IMTestClient, senderSide: IMTestingApp, recipientSide: IMTestingApp) {
    const fp = sender.c2c(recipient.userId as string, `hello from ${sender.userId}`, { typeu: 7 });
    const msg = await recipient.expect({ type: 2, fp, from: sender.userId, to: recipient.userId, bridge: true, QoS: true, typeu: 7 }, WAIT);
    await sender.expect({ type: 4, dataContent: fp, from: recipient.userId, to: sender.userId }, WAIT);
    recipient.ack(msg);
    await until(() => handlers(recipientSide).delivered.includes(fp), 'the recipient ACK settles QoS on its side');
    expect(handlers(recipientSide).calls).toContain(`c2cDelivered:${fp}`);
    expect(handlers(senderSide).calls).toContain(`c2c:hello from ${sender.userId}`);
  }

  it('carries C2C both ways over TCP, WebSocket and UDP, with the sender ACKed and the recipient ACKing', async () => {
    const pairs: Array<[TransportKind, TransportKind]> = [['tcp', 'ws'], ['ws', 'udp'], ['udp', 'tcp']];
    for (const [i, [onApp, onWeb]] of pairs.entries()) {
      const a = await app.login(onApp, `a${i}`);
      const w = await web.login(onWeb, `w${i}`);
      await roundTrip(a, w, app, web);
      await roundTrip(w, a, web, app);
    }
    expect(app.push.stats.bridgedOut).toBe(3);
    expect(app.push.stats.bridgedIn).toBe(3);
    expect(web.push.stats.bridgedOut).toBe(3);
    expect(web.push.stats.bridgedIn).toBe(3);
  });

  it('ACKs the sender only after the broker confirmed the publish', async () => {
    const alice = await app.login('tcp', 'alice');
    const bob = await web.login('ws', 'bob');
    proxy.hold(); // the message reaches the queue, the confirm does not reach the app side
    const fp = alice.c2c('bob', 'confirmed?');
    bob.ack(await bob.expect({ type: 2, fp }, WAIT));
    await alice.expectNothing(300);
    expect(app.push.stats.bridgedOut).toBe(0);
    proxy.release();
    await alice.expect({ type: 4, dataContent: fp, from: 'bob' }, WAIT);
    expect(app.push.stats.bridgedOut).toBe(1);
  });

  it('shuts down even when the broker stops answering', async () => {
    await app.login('tcp', 'alice');
    proxy.hold(); // the close handshake never completes
    const closing = app.close();
    started.splice(started.indexOf(app), 1);
    await closing; // within confirmTimeoutMs (5 s), well inside the test's timeout
    expect(bridgeOf(web).connected).toBe(true);
  });

  it('only ACKs again a retransmitted packet that was already bridged', async () => {
    const alice = await app.login('tcp', 'alice');
    const bob = await web.login('tcp', 'bob');
    const fp = alice.c2c('bob', 'once');
    await alice.expect({ type: 4, dataContent: fp }, WAIT);
    bob.ack(await bob.expect({ type: 2, fp }, WAIT));
    alice.c2c('bob', 'once', { fp }); // the SDK's retransmission: its ACK was lost
    await alice.expect({ type: 4, dataContent: fp, from: 'bob' }, WAIT);
    expect(app.push.stats.bridgeDuplicates).toBe(1);
    expect(app.push.stats.bridgedOut).toBe(1);
    const next = alice.c2c('bob', 'next');
    await bob.expect({ type: 2, fp: next }, WAIT); // not the duplicate
  });

  it('takes the far side offline path for a recipient online on neither side', async () => {
    const alice = await app.login('udp', 'alice');
    handlers(web).storeOffline = true;
    const fp = alice.c2c('carol', 'for later');
    await alice.expect({ type: 4, dataContent: fp, from: 'carol' }, WAIT); // the broker has it
    await until(() => handlers(web).calls.includes('offline:carol'), 'offline hook on the web side');
    expect(handlers(app).calls).not.toContain('offline:carol');
    await until(() => web.push.stats.bridgedIn === 1, 'counted in');
    expect(web.push.stats.c2cOffline).toBe(1);
    expect(web.push.stats.bridgedOut).toBe(0); // never sent back across: no loop between the sides
  });

  it('answers PushService.send to a user across the bridge with "bridged"', async () => {
    const bob = await web.login('ws', 'bob');
    const events: IMEvent[] = [];
    const sub = app.push.events$.subscribe((e) => events.push(e));
    const result = await app.push.send('bob', { hello: 'bob' }, { typeu: 3 });
    sub.unsubscribe();
    expect(result.status).toBe('bridged');
    const msg = await bob.expect({ type: 2, from: '0', fp: result.fp, bridge: true, QoS: true, typeu: 3 }, WAIT);
    expect(JSON.parse(msg.dataContent as string)).toEqual({ hello: 'bob' });
    expect(events).toContainEqual(expect.objectContaining({ type: 'bridged', direction: 'out', userId: 'bob', fp: result.fp }));
  });

  it('never bridges a packet whose from is not the sending session user', async () => {
    const alice = await app.login('tcp', 'alice');
    const walt = await web.login('tcp', 'walt');
    alice.send({ type: 2, from: 'mallory', to: 'walt', dataContent: 'forged', fp: 'forged-1', QoS: true, typeu: -1, sm: -1 });
    const refused = await alice.expect({ type: 52 }, WAIT);
    expect(JSON.parse(refused.dataContent as string).errorCode).toBe(403);
    const real = alice.c2c('walt', 'real');
    walt.ack(await walt.expect({ type: 2, fp: real, from: 'alice' }, WAIT)); // the first and only packet walt gets
    await alice.expect({ type: 4, dataContent: real }, WAIT);
    expect(app.push.stats.bridgedOut).toBe(1);
    expect(app.push.stats.forgedSender).toBe(1);
  });

  it('takes the offline path during a broker outage and bridges again once it is back', async () => {
    // Counted, not printed: the test causes these on purpose.
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const logs = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const lines = (spy: jest.SpyInstance, text: string) => spy.mock.calls.filter((c) => String(c[0]).includes(text)).length;
    const alice = await app.login('tcp', 'alice');
    const bob = await web.login('tcp', 'bob');
    handlers(app).storeOffline = true;
    proxy.cut();
    await until(() => !bridgeOf(app).connected, 'the app side sees the outage');
    const fp = alice.c2c('bob', 'during the outage');
    await alice.expect({ type: 4, dataContent: fp, from: 'bob' }, WAIT); // stored by the offline hook
    expect(handlers(app).calls).toContain('offline:bob');
    expect(app.push.stats.bridgePublishFailed).toBe(1);
    expect((await app.push.send('bob', 'push during the outage')).status).toBe('offline');
    // Reconnection attempts fail every 100 ms meanwhile: still one outage.
    await until(() => app.push.stats.bridgePublishFailed === 2, 'push counted as failed');
    expect(app.push.stats.bridgeOutages).toBe(1);
    expect(lines(errors, 'bridge down')).toBe(1);
    proxy.restore();
    await until(() => bridgeOf(app).connected, 'the app side reconnects');
    const after = alice.c2c('bob', 'after the outage');
    await bob.expect({ type: 2, fp: after, dataContent: 'after the outage' }, WAIT);
    await alice.expect({ type: 4, dataContent: after }, WAIT);
    expect(app.push.stats.bridgeOutages).toBe(1);
    expect(lines(errors, 'bridge down')).toBe(1);
    expect(lines(logs, 'bridge up')).toBe(1);
  });

  it('acknowledges, counts and drops poison messages, and keeps consuming', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const bob = await web.login('ws', 'bob');
    const { connection, channel } = await openTestChannel();
    try {
      const poison = [
        'not json',
        '[1,2]',
        '{"bridge":false,"type":"x","to":"bob"}',
        '{"bridge":false,"type":1,"from":"alice","to":"bob","fp":"k","QoS":true,"typeu":-1,"sm":-1}',
        '{"bridge":false,"type":2,"dataContent":"no fp","from":"alice","to":"bob","QoS":true,"typeu":-1,"sm":-1}',
        '{"bridge":false,"type":2,"dataContent":"to nobody","from":"alice","to":"0","fp":"z","QoS":true,"typeu":-1,"sm":-1}',
      ];
      for (const text of poison) channel.sendToQueue(queues.app2webQueue, Buffer.from(text), { persistent: true });
      channel.sendToQueue(queues.app2webQueue, Buffer.from([0xff, 0xfe, 0x7b]), { persistent: true });
      await channel.waitForConfirms();
      await until(() => web.push.stats.bridgePoison === poison.length + 1, 'every poison message counted');
      const good = '{"bridge":false,"type":2,"dataContent":"still here","from":"alice","to":"bob","fp":"good-1","QoS":false,"typeu":-1,"sm":-1}';
      channel.sendToQueue(queues.app2webQueue, Buffer.from(good), { persistent: true });
      await channel.waitForConfirms();
      bob.ack(await bob.expect({ type: 2, fp: 'good-1', dataContent: 'still here', QoS: true, bridge: true }, WAIT));
      // Nothing was requeued: the queue is empty and no message is waiting unacknowledged.
      await until(async () => (await channel.checkQueue(queues.app2webQueue)).messageCount === 0, 'queue drained');
      expect(web.push.stats.bridgedIn).toBe(1);
      expect(web.push.stats.bridgePoison).toBe(poison.length + 1);
      // Logged, but not once per message: a flood of bad messages must not flood the log.
      expect(warnings.mock.calls.filter((c) => String(c[0]).includes('dropped an invalid message')).length).toBe(1);
    } finally {
      await connection.close();
    }
  });

  it('delivers a packet exactly as the reference publishes it', async () => {
    const alice = await app.login('tcp', 'alice');
    const { connection, channel } = await openTestChannel();
    try {
      // Gson's output of the reference's Protocal, HTML-safe escapes included (PROTOCOL.md §2.2).
      const reference = '{"bridge":false,"type":2,"dataContent":"\\u003cb\\u003e \\u0027hi\\u0027 \\u0026 \\u003d 你好","from":"webuser","to":"alice","fp":"ref-fp-1","QoS":false,"typeu":12,"sm":-1}';
      channel.sendToQueue(queues.web2appQueue, Buffer.from(reference, 'utf8'), { persistent: true, contentType: 'text/plain' });
      await channel.waitForConfirms();
      const msg = await alice.expect({ type: 2, fp: 'ref-fp-1' }, WAIT);
      expect(msg).toEqual<Packet>({
        bridge: true, type: 2, dataContent: "<b> 'hi' & = 你好", from: 'webuser', to: 'alice', fp: 'ref-fp-1', QoS: true, typeu: 12, sm: -1,
      });
      alice.ack(msg);
      await until(() => handlers(app).delivered.includes('ref-fp-1'), 'ACK settles the bridged packet');
    } finally {
      await connection.close();
    }
  });
});

describeRabbit('MobileIMSDK-Web bridge: what nestjs-im publishes', () => {
  it('publishes in the reference key order, persistent, as UTF-8 text', async () => {
    const suffix = randomBytes(4).toString('hex');
    const queues = { app2webQueue: `q_app2web-test-${suffix}`, web2appQueue: `q_web2app-test-${suffix}` };
    // One side only, so the test reads its outbound queue itself; configured through forRootAsync.
    const im = await startIMTestingApp({
      providers: [RecordingHandlers],
      imModule: [IMModule.forRootAsync({
        useFactory: async () => ({ tcp: false, udp: false, ws: { port: 0, host: '127.0.0.1' }, bridge: { url: AMQP_URL, side: 'web', ...queues } }),
      })],
    });
    const { connection, channel } = await openTestChannel();
    try {
      const alice = await im.login('ws', 'alice');
      const fp = alice.c2c('appuser', 'héllo <"x">', { typeu: 9 });
      await alice.expect({ type: 4, dataContent: fp, from: 'appuser' }, WAIT);
      let got: false | { content: Buffer; properties: { deliveryMode?: number; contentType?: string } } = false;
      await until(async () => (got = await channel.get(queues.web2appQueue, { noAck: true })) !== false, 'message in q_web2app');
      const message = got as unknown as { content: Buffer; properties: { deliveryMode?: number; contentType?: string } };
      expect(message.content.toString('utf8')).toBe(
        `{"bridge":false,"type":2,"dataContent":"héllo <\\"x\\">","from":"alice","to":"appuser","fp":"${fp}","QoS":true,"typeu":9,"sm":-1}`,
      );
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.contentType).toBe('text/plain');
      const push = await im.push.send('appuser', 'from the server', { fp: 'srv-1' });
      expect(push).toEqual({ userId: 'appuser', status: 'bridged', fp: 'srv-1' });
      await until(async () => (got = await channel.get(queues.web2appQueue, { noAck: true })) !== false, 'push in q_web2app');
      expect((got as unknown as { content: Buffer }).content.toString('utf8')).toBe(
        '{"bridge":false,"type":2,"dataContent":"from the server","from":"0","to":"appuser","fp":"srv-1","QoS":true,"typeu":-1,"sm":-1}',
      );

      // The queue deleted under a running server: the broker returns the message, the push fails, the queue is declared again.
      await channel.deleteQueue(queues.web2appQueue);
      expect((await im.push.send('appuser', 'into the void')).status).toBe('offline');
      expect(im.push.stats.bridgePublishFailed).toBe(1);
      await until(() => queueExists(queues.web2appQueue), 'publish queue declared again');
      expect((await im.push.send('appuser', 'back')).status).toBe('bridged');
    } finally {
      await im.close();
      await channel.deleteQueue(queues.app2webQueue);
      await channel.deleteQueue(queues.web2appQueue);
      await connection.close();
    }
  });
});

/** Whether a queue exists (a failed check closes its channel, so each check has its own). */
async function queueExists(name: string): Promise<boolean> {
  const { connection, channel } = await openTestChannel();
  try {
    await channel.checkQueue(name);
    return true;
  } catch {
    return false;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Unique queue names for one test, never the defaults. */
function testQueues(): { app2webQueue: string; web2appQueue: string } {
  const suffix = randomBytes(4).toString('hex');
  return { app2webQueue: `q_app2web-test-${suffix}`, web2appQueue: `q_web2app-test-${suffix}` };
}

async function deleteQueues(queues: { app2webQueue: string; web2appQueue: string }): Promise<void> {
  const { connection, channel } = await openTestChannel();
  try {
    await channel.deleteQueue(queues.app2webQueue);
    await channel.deleteQueue(queues.web2appQueue);
  } finally {
    await connection.close();
  }
}

if (!redisServerAvailable()) console.log('redis-server not installed: skipping the bridge tests with a Redis cluster');
(redisServerAvailable() ? describeRabbit : describe.skip)('MobileIMSDK-Web bridge with a Redis cluster on the app side', () => {
  let redis: TestRedisServer;
  let queues: ReturnType<typeof testQueues>;
  let nodes: IMTestingApp[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(() => {
    queues = testQueues();
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
    await deleteQueues(queues);
  });

  const start = async (side: 'app' | 'web', nodeId?: string) => {
    const im = await startIMTestingApp({
      providers: [RecordingHandlers],
      im: {
        ...(nodeId ? { cluster: { redis: redis.url, nodeId, keyPrefix: `im-bridge-${queues.app2webQueue}:` } } : {}),
        bridge: { url: AMQP_URL, side, ...queues, reconnectDelayMs: 100 },
      },
    });
    nodes.push(im);
    return im;
  };

  it('routes a user on another node through the cluster, not the bridge; both nodes consume and route through the cluster', async () => {
    const a1 = await start('app', 'a1');
    const a2 = await start('app', 'a2');
    const web = await start('web');
    const alice = await a1.login('tcp', 'alice');
    const bob = await a2.login('ws', 'bob');
    const walt = await web.login('udp', 'walt');
    await until(() => a1.push.isOnlineAnywhere('bob'), 'bob in the cluster presence');

    // Online on another node: the cluster, never the bridge.
    const local = alice.c2c('bob', 'same cluster');
    bob.ack(await bob.expect({ type: 2, fp: local, bridge: false }, WAIT));
    await alice.expect({ type: 4, dataContent: local, from: 'bob' }, WAIT);
    expect(a1.push.stats.bridgedOut).toBe(0);

    // Online on no node: the bridge.
    const across = alice.c2c('walt', 'other server');
    walt.ack(await walt.expect({ type: 2, fp: across, bridge: true }, WAIT));
    await alice.expect({ type: 4, dataContent: across, from: 'walt' }, WAIT);
    expect(a1.push.stats.bridgedOut).toBe(1);

    // Competing consumers: both app nodes take messages for bob; a1's reach him through the cluster.
    const { connection, channel } = await openTestChannel();
    try {
      await until(async () => (await channel.checkQueue(queues.web2appQueue)).consumerCount === 2, 'both app nodes consume');
    } finally {
      await connection.close();
    }
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) sent.push(walt.c2c('bob', `to bob ${i}`));
    const received: string[] = [];
    for (let i = 0; i < 10; i++) {
      const m = await bob.expect((p) => p.type === 2, WAIT);
      bob.ack(m);
      received.push(m.fp as string);
    }
    expect(received.sort()).toEqual([...sent].sort());
    // Counted once the consuming node has its answer from bob's node, which may be after bob got the message.
    await until(() => a1.push.stats.bridgedIn + a2.push.stats.bridgedIn === 10, 'every message counted in');
    expect(a1.push.stats.bridgedIn).toBeGreaterThan(0);
    expect(a2.push.stats.bridgedIn).toBeGreaterThan(0);
    await until(() => a2.app.get(RecordingHandlers).delivered.length === 11, 'every ACK settles on bob\'s node');
  });
});

describeRabbit('MobileIMSDK-Web bridge between two sample apps', () => {
  const HOST = '127.0.0.1';
  let queues: ReturnType<typeof testQueues>;
  const apps: INestApplication[] = [];

  const start = async (side: 'app' | 'web'): Promise<{ app: INestApplication; ports: IMPorts }> => {
    const { app, ports } = await startSampleApp({
      bridge: { url: AMQP_URL, side, ...queues },
      metricsPrefix: `im_${side}_`, // two sample apps in one process: distinct names on prom-client's global registry
    });
    apps.push(app);
    return { app, ports };
  };
  const clients: IMTestClient[] = [];
  const loginAs = async (ports: IMPorts, userId: string) => {
    const c = await IMTestClient.connect('tcp', ports.tcp as number, { host: HOST });
    clients.push(c);
    expect((await c.login(userId, { token: `${userId}-secret` })).code).toBe(0);
    return c;
  };

  beforeEach(() => {
    queues = testQueues();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const a of apps.splice(0)) await a.close();
    await deleteQueues(queues);
  });

  it('chats across, stores for an offline user on the far side as from the real sender, and pushes "bridged"', async () => {
    const appSide = await start('app');
    const webSide = await start('web');
    const alice = await loginAs(appSide.ports, 'alice');
    const bob = await loginAs(webSide.ports, 'bob');
    const fp = alice.c2c('bob', 'hi bob');
    bob.ack(await bob.expect({ type: 2, fp, from: 'alice', bridge: true }, WAIT));
    await alice.expect({ type: 4, dataContent: fp, from: 'bob' }, WAIT);

    const later = alice.c2c('carol', 'for carol');
    await alice.expect({ type: 4, dataContent: later, from: 'carol' }, WAIT);
    const store = webSide.app.get(OfflineStore);
    await until(() => store.count('carol') === 1, 'stored on the web side');
    const carol = await loginAs(webSide.ports, 'carol');
    const replay = await carol.expect({ type: 2, from: '0' }, WAIT);
    expect(JSON.parse(replay.dataContent as string)).toMatchObject({ from: 'alice', data: 'for carol' });

    const pushed = await webSide.app.get(PushService).send('alice', 'server to alice');
    expect(pushed.status).toBe('bridged');
    alice.ack(await alice.expect({ type: 2, from: '0', dataContent: 'server to alice', bridge: true }, WAIT));
  });
});
