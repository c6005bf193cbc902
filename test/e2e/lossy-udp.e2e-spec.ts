import * as dgram from 'dgram';
import { IMClient, UdpLink } from '../../lib/client';
import { IMTestingApp, startIMTestingApp, until } from '../../lib/testing';
import { mulberry32 as prng } from '../support/prng';
import { RecordingHandlers } from './fixtures/recording-handlers';


/** Logins (type 0) and their responses (type 50) always pass, as in the measurement. */
const isLogin = (msg: Buffer): boolean => {
  try {
    const type = (JSON.parse(msg.toString('utf8')) as { type?: number }).type;
    return type === 0 || type === 50;
  } catch {
    return false;
  }
};

/**
 * A UDP proxy in front of the server that drops `lossRate` of the datagrams each
 * way: one upstream socket per client address, so the server sees one peer per client.
 */
class LossyUdpProxy {
  readonly dropped = { up: 0, down: 0 };
  readonly passed = { up: 0, down: 0 };
  private readonly front = dgram.createSocket('udp4');
  private readonly upstreams = new Map<string, dgram.Socket>();
  private readonly random: () => number;

  constructor(
    private readonly serverPort: number,
    private readonly lossRate: number,
    seed: number,
  ) {
    this.random = prng(seed);
  }

  async start(): Promise<number> {
    this.front.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    await new Promise<void>((resolve) => this.front.bind(0, '127.0.0.1', resolve));
    return this.front.address().port;
  }

  close(): void {
    for (const s of this.upstreams.values()) s.close();
    this.front.close();
  }

  private fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = this.upstreams.get(key);
    if (!up) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (reply) => {
        if (!isLogin(reply) && this.random() < this.lossRate) return void this.dropped.down++;
        this.passed.down++;
        this.front.send(reply, rinfo.port, rinfo.address);
      });
      socket.bind(0, '127.0.0.1');
      this.upstreams.set(key, (up = socket));
    }
    if (!isLogin(msg) && this.random() < this.lossRate) return void this.dropped.up++;
    this.passed.up++;
    up.send(msg, this.serverPort, '127.0.0.1');
  }
}

describe('a lossy UDP link (issue 11 item 3)', () => {
  let im: IMTestingApp;
  let proxy: LossyUdpProxy;
  const clients: IMClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    proxy.close();
    await im.close();
  });

  it('delivers 100 of 100 QoS messages through 15% loss each way: the UDP policy retransmits with backoff', async () => {
    // The default UDP policy's shape (backoff ×2, bounded by a lifetime), its delays scaled down so the test runs in seconds.
    im = await startIMTestingApp({
      providers: [RecordingHandlers],
      im: {
        qos: { udpRetransmitIntervalMs: 200, udpRetransmitBackoff: 2, udpMaxRetransmitIntervalMs: 800, udpMaxRetransmits: 8, udpRetransmitLifetimeMs: 5000 },
        udp: { idleTimeoutMs: 60_000 },
      },
    });
    const handlers = im.app.get(RecordingHandlers);
    proxy = new LossyUdpProxy(im.ports.udp!, 0.15, 20261130);
    const port = await proxy.start();
    // The client QoS retransmits as the SDKs do (faster here); it must not give up before the server ACKs.
    const client = () => new IMClient(new UdpLink({ host: '127.0.0.1', port }), { keepalive: false, qos: { checkIntervalMs: 100, graceMs: 200, maxResends: 30 } });
    const sender = client();
    const receiver = client();
    clients.push(sender, receiver);
    const received = new Set<string>();
    receiver.on('message', (p) => received.add(p.dataContent as string));
    for (const [c, user] of [[sender, 'alice'], [receiver, 'bob']] as const) {
      await c.connect();
      expect((await c.login({ userId: user, token: `token-${user}` })).code).toBe(0);
    }

    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => sender.sendC2C('bob', `m${i}`)));
    // Every message was ACKed to the sender (the server wrote it to bob); now each must reach bob.
    expect(outcomes.filter((o) => o === 'delivered')).toHaveLength(100);
    await until(() => received.size === 100 && im.core.pendingQoS === 0, { timeoutMs: 15_000, message: 'all 100 received and ACKed' });
    expect(im.core.stats.lost).toBe(0);
    expect(handlers.lost).toEqual([]);
    // The proxy did drop, both ways, and the server's QoS had to retransmit.
    expect(proxy.dropped.up).toBeGreaterThan(5);
    expect(proxy.dropped.down).toBeGreaterThan(5);
    expect(im.core.stats.retransmits).toBeGreaterThan(0);
    if (process.env.IM_TEST_REPORT) {
      process.stdout.write(`lossy-udp: dropped ${JSON.stringify(proxy.dropped)} passed ${JSON.stringify(proxy.passed)} retransmits ${im.core.stats.retransmits} received ${received.size}\n`);
    }
  });
});
