/**
 * Prometheus metrics over real sockets: traffic through a real application,
 * then a scrape of its registry. The manual clock makes the latencies exact.
 */
import { Registry } from 'prom-client';
import { IMTestingApp, startIMTestingApp } from '../../lib/testing';
import { sample, scrapeUntil } from '../support/prom-text';
import { RecordingHandlers } from './fixtures/recording-handlers';

describe('Prometheus metrics', () => {
  let im: IMTestingApp;
  let registry: Registry;
  const scrape = () => registry.metrics();

  beforeEach(async () => {
    registry = new Registry();
    im = await startIMTestingApp({
      providers: [RecordingHandlers],
      manualClock: true,
      im: { metrics: { registry }, limits: { packetsPerSecond: 200, burst: 20 } },
    });
  });
  afterEach(() => im?.close());

  it('counts connections, sessions and logins by transport and outcome', async () => {
    await im.login('tcp', 'alice');
    await im.login('ws', 'bob');
    await im.login('udp', 'carol');
    const refused = await im.connect('ws');
    expect((await refused.login('dave', { token: 'wrong' })).code).not.toBe(0);
    await refused.expectClosed();
    const text = await scrape();
    expect(sample(text, 'im_logins_total{transport="tcp",outcome="accepted"}')).toBe(1);
    expect(sample(text, 'im_logins_total{transport="udp",outcome="accepted"}')).toBe(1);
    expect(sample(text, 'im_logins_total{transport="ws",outcome="refused"}')).toBe(1);
    expect(sample(text, 'im_sessions{transport="ws"}')).toBe(1);
    expect(sample(text, 'im_connections{transport="ws"}')).toBe(1);
    expect(sample(text, 'im_connections_opened_total{transport="ws"}')).toBe(2);
    expect(sample(text, 'im_closes_total{transport="ws",reason="login-refused"}')).toBe(1);
    expect(sample(text, 'im_packets_in_total{transport="udp",type="login"}')).toBe(1);
    expect(sample(text, 'im_packets_out_total{transport="tcp",type="login_response"}')).toBe(1);
  });

  it('counts C2C, C2S and S2C, and times ACK round trips and deliveries in seconds', async () => {
    const alice = await im.login('tcp', 'alice');
    const bob = await im.login('ws', 'bob');
    alice.c2c('bob', 'hi');
    const hi = await bob.expect({ type: 2, dataContent: 'hi' });
    im.clock!.advance(30);
    bob.ack(hi);
    await alice.expect({ type: 4, dataContent: hi.fp });
    alice.c2s('status');
    await alice.expect({ type: 4 });
    // A push that needs one retransmission: ACK 20 ms after it, 4.02 s after the first write.
    const pushed = im.push.send('bob', 'news');
    await bob.expect({ type: 2, dataContent: 'news' });
    im.clock!.advance(4_000);
    im.core.tick();
    const again = await bob.expect({ type: 2, dataContent: 'news' });
    im.clock!.advance(20);
    bob.ack(again);
    expect(await pushed).toMatchObject({ status: 'delivered' });

    const text = await scrape();
    expect(sample(text, 'im_messages_total{transport="tcp",kind="c2c"}')).toBe(1);
    expect(sample(text, 'im_messages_total{transport="tcp",kind="c2s"}')).toBe(1);
    expect(sample(text, 'im_messages_total{transport="ws",kind="s2c"}')).toBe(1);
    expect(sample(text, 'im_packets_in_total{transport="ws",type="ack"}')).toBe(2);
    expect(sample(text, 'im_packets_out_total{transport="ws",type="data"}')).toBe(3);
    expect(sample(text, 'im_qos_delivered_total')).toBe(2);
    expect(sample(text, 'im_qos_retransmitted_total')).toBe(1);
    expect(sample(text, 'im_qos_ack_rtt_seconds_count')).toBe(2);
    expect(sample(text, 'im_qos_ack_rtt_seconds_bucket{le="0.01"}')).toBe(0);
    expect(sample(text, 'im_qos_ack_rtt_seconds_bucket{le="0.025"}')).toBe(1);
    expect(sample(text, 'im_qos_ack_rtt_seconds_bucket{le="0.05"}')).toBe(2);
    expect(sample(text, 'im_delivery_latency_seconds_bucket{le="0.05"}')).toBe(1);
    expect(sample(text, 'im_delivery_latency_seconds_bucket{le="2.5"}')).toBe(1);
    expect(sample(text, 'im_delivery_latency_seconds_bucket{le="5"}')).toBe(2);
    expect(sample(text, 'im_delivery_latency_seconds_sum')).toBeCloseTo(4.05, 5);
    expect(sample(text, 'im_qos_pending')).toBe(0);
  });

  it('reads pending and lost QoS packets and the store sizes', async () => {
    const carol = await im.login('tcp', 'carol');
    const lost = im.push.send('carol', 'never acked');
    await carol.expect({ type: 2 });
    carol.c2s('dedup me');
    await carol.expect({ type: 4 });
    let text = await scrape();
    expect(sample(text, 'im_qos_pending')).toBe(1);
    expect(sample(text, 'im_store_entries{store="qos"}')).toBe(1);
    expect(sample(text, 'im_store_entries{store="dedup"}')).toBe(1);
    im.clock!.advance(4_000);
    im.core.tick();
    im.clock!.advance(4_000);
    im.core.tick();
    expect(await lost).toMatchObject({ status: 'lost' });
    text = await scrape();
    expect(sample(text, 'im_qos_lost_total')).toBe(1);
    expect(sample(text, 'im_qos_pending')).toBe(0);
  });

  it('counts rate limiting, refusals, bad input and closes by reason', async () => {
    const alice = await im.login('udp', 'alice');
    // burst 20 (a login starts the logged-in bucket full) and a clock that does not move: 20 echoes pass, 5 are dropped (UDP).
    for (let i = 0; i < 25; i++) alice.send({ type: 5, dataContent: `e${i}` });
    await scrapeUntil(scrape, 'im_rate_limited_total{transport="udp",reason="IM_RATE_LIMITED"}', (v) => v === 5);
    const mallory = await im.login('tcp', 'mallory');
    mallory.send({ type: 2, from: 'alice', to: 'bob', dataContent: 'forged' });
    await mallory.expect({ type: 52 });
    const garbage = await im.connect('tcp');
    garbage.sendText('not json');
    await garbage.expectClosed();
    const bob = await im.login('ws', 'bob');
    bob.logout();
    await bob.expectClosed();
    const idle = await im.login('tcp', 'idle');
    im.clock!.advance(60_000);
    im.core.tick();
    await idle.expectClosed();
    const text = await scrape();
    expect(sample(text, 'im_refused_total{transport="tcp",reason="IM_FORGED_SENDER"}')).toBe(1);
    expect(sample(text, 'im_bad_input_total{transport="tcp",reason="IM_BAD_JSON"}')).toBe(1);
    expect(sample(text, 'im_closes_total{transport="tcp",reason="bad-input"}')).toBe(1);
    expect(sample(text, 'im_closes_total{transport="ws",reason="logout"}')).toBe(1);
    expect(sample(text, 'im_closes_total{transport="tcp",reason="idle-timeout"}')).toBeGreaterThanOrEqual(1);
  });

  it('refuses a second application on the same registry and frees it on close', async () => {
    await expect(startIMTestingApp({ providers: [RecordingHandlers], im: { metrics: { registry } } })).rejects.toThrow(/already registered/);
    await im.close();
    const again = await startIMTestingApp({ providers: [RecordingHandlers], im: { metrics: { registry } } });
    try {
      expect(registry.getSingleMetric('im_qos_pending')).toBeDefined();
    } finally {
      await again.close();
    }
    im = undefined as unknown as IMTestingApp;
  });
});

describe('Prometheus metrics of the transports', () => {
  it('count connections refused by a transport\'s limit', async () => {
    const registry = new Registry();
    const im = await startIMTestingApp({ providers: [RecordingHandlers], im: { metrics: { registry }, tcp: { maxConnections: 1 } } });
    try {
      await im.login('tcp', 'alice');
      const refused = await im.connect('tcp');
      await refused.expectClosed();
      const text = await scrapeUntil(() => registry.metrics(), 'im_refused_total{transport="tcp",reason="IM_TOO_MANY_CONNECTIONS"}', (v) => v === 1);
      expect(sample(text, 'im_connections{transport="tcp"}')).toBe(1);
    } finally {
      await im.close();
    }
  });

  it('count a WebSocket message over the size limit as bad input, like an oversize TCP frame', async () => {
    const registry = new Registry();
    const im = await startIMTestingApp({ providers: [RecordingHandlers], im: { metrics: { registry }, ws: { maxPayloadBytes: 1024 } } });
    try {
      const ws = await im.login('ws', 'alice');
      ws.sendText('x'.repeat(2048));
      expect((await ws.expectClosed()).code).toBe(1009);
      const tcp = await im.connect('tcp');
      tcp.sendRaw(Buffer.from([0, 1, 0, 0]));
      await tcp.expectClosed();
      const text = await registry.metrics();
      expect(sample(text, 'im_bad_input_total{transport="ws",reason="IM_FRAME_TOO_LARGE"}')).toBe(1);
      expect(sample(text, 'im_bad_input_total{transport="tcp",reason="IM_FRAME_TOO_LARGE"}')).toBe(1);
      expect(sample(text, 'im_closes_total{transport="ws",reason="bad-input"}')).toBe(1);
    } finally {
      await im.close();
    }
  });
});
