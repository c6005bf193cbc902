import { Histogram, Registry } from 'prom-client';
import type { Session } from '../../lib/core/session';
import { BucketHistogram, closeReasonOf, IMMetricsSource, NOOP_METRICS, PrometheusIMMetrics } from '../../lib/metrics';
import { PacketType } from '../../lib/protocol';
import { sample } from '../support/prom-text';

function source(over: Partial<IMMetricsSource> = {}): IMMetricsSource & { users: Session[] } {
  const users: Session[] = [];
  return {
    users,
    online: { sessions: () => users },
    pendingQoS: 0,
    dedupEntries: 0,
    stats: { kicks: 0, handlerErrors: 0, c2cOffline: 0, c2sDuplicates: 0, stored: 0, storeRefused: 0, storeRedelivered: 0 },
    ...over,
  };
}


describe('BucketHistogram', () => {
  it('prints what prom-client\'s Histogram prints for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const values = [0, 0.0005, 0.001, 0.002, 0.05, 0.1, 0.7, 3, 12];
    const ours = new Registry();
    const theirs = new Registry();
    const mine = new BucketHistogram('h_seconds', 'help', buckets);
    ours.registerMetric(mine as unknown as Histogram);
    const reference = new Histogram({ name: 'h_seconds', help: 'help', buckets, registers: [theirs] });
    for (const v of values) {
      mine.observe(v);
      reference.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    mine.reset();
    reference.reset();
    reference.zero({});
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses buckets out of order', () => {
    expect(() => new BucketHistogram('x', 'x', [1, 1])).toThrow(/ascending/);
  });
});

describe('PrometheusIMMetrics', () => {
  it('publishes in-place counters with transport, type, kind and reason labels at scrape time', async () => {
    const registry = new Registry();
    const src = source();
    const m = new PrometheusIMMetrics(src, { registry });
    m.register();
    m.connectionOpened('tcp');
    m.connectionOpened('tcp');
    m.connectionOpened('ws');
    m.connectionClosed('tcp', 'idle-timeout');
    m.login('tcp', 'accepted');
    m.login('ws', 'refused');
    for (let i = 0; i < 3; i++) m.packetIn('tcp', PacketType.DATA);
    m.packetIn('udp', 99);
    m.packetOut('ws', PacketType.ACK);
    m.message('tcp', 'c2c');
    m.message('ws', 's2c');
    m.rateLimited('udp', 'IM_RATE_LIMITED');
    m.refused('ws', 'IM_TOO_MANY_CONNECTIONS');
    m.badInput('tcp', 'IM_BAD_JSON');
    m.qosRetransmitted();
    m.qosDelivered(2, 4002);
    m.qosLost(3);
    m.clusterRequest('c2c', 5, 'answered');
    m.clusterRequest('kick', 2000, 'timeout');
    const text = await registry.metrics();
    expect(sample(text, 'im_connections_opened_total{transport="tcp"}')).toBe(2);
    expect(sample(text, 'im_connections{transport="tcp"}')).toBe(1);
    expect(sample(text, 'im_connections{transport="ws"}')).toBe(1);
    expect(sample(text, 'im_closes_total{transport="tcp",reason="idle-timeout"}')).toBe(1);
    expect(sample(text, 'im_logins_total{transport="tcp",outcome="accepted"}')).toBe(1);
    expect(sample(text, 'im_logins_total{transport="ws",outcome="refused"}')).toBe(1);
    expect(sample(text, 'im_packets_in_total{transport="tcp",type="data"}')).toBe(3);
    expect(sample(text, 'im_packets_in_total{transport="udp",type="unknown"}')).toBe(1);
    expect(sample(text, 'im_packets_out_total{transport="ws",type="ack"}')).toBe(1);
    expect(sample(text, 'im_messages_total{transport="tcp",kind="c2c"}')).toBe(1);
    expect(sample(text, 'im_messages_total{transport="ws",kind="s2c"}')).toBe(1);
    expect(sample(text, 'im_messages_total{transport="udp",kind="c2s"}')).toBe(0);
    expect(sample(text, 'im_rate_limited_total{transport="udp",reason="IM_RATE_LIMITED"}')).toBe(1);
    expect(sample(text, 'im_refused_total{transport="ws",reason="IM_TOO_MANY_CONNECTIONS"}')).toBe(1);
    expect(sample(text, 'im_bad_input_total{transport="tcp",reason="IM_BAD_JSON"}')).toBe(1);
    expect(sample(text, 'im_qos_retransmitted_total')).toBe(1);
    expect(sample(text, 'im_qos_delivered_total')).toBe(1);
    expect(sample(text, 'im_qos_lost_total')).toBe(3);
    expect(sample(text, 'im_qos_ack_rtt_seconds_bucket{le="0.0025"}')).toBe(1);
    expect(sample(text, 'im_qos_ack_rtt_seconds_sum')).toBeCloseTo(0.002);
    expect(sample(text, 'im_delivery_latency_seconds_bucket{le="2.5"}')).toBe(0);
    expect(sample(text, 'im_delivery_latency_seconds_bucket{le="5"}')).toBe(1);
    expect(sample(text, 'im_cluster_requests_total{kind="kick",outcome="timeout"}')).toBe(1);
    expect(sample(text, 'im_cluster_request_duration_seconds_count{kind="c2c"}')).toBe(1);
    // Counters read at scrape time keep counting between scrapes.
    m.packetIn('tcp', PacketType.DATA);
    expect(sample(await registry.metrics(), 'im_packets_in_total{transport="tcp",type="data"}')).toBe(4);
  });

  it('reads gauges and core totals from the source when scraped', async () => {
    const registry = new Registry();
    const src = source({ pendingQoS: 7, dedupEntries: 11, stats: { kicks: 2, handlerErrors: 1, c2cOffline: 4, c2sDuplicates: 5, stored: 6, storeRefused: 2, storeRedelivered: 3 } });
    src.users.push({ transport: 'ws' } as Session, { transport: 'ws' } as Session, { transport: 'udp' } as Session);
    const m = new PrometheusIMMetrics(src, { registry, prefix: 'chat_' });
    m.register();
    const text = await registry.metrics();
    expect(sample(text, 'chat_sessions{transport="ws"}')).toBe(2);
    expect(sample(text, 'chat_sessions{transport="udp"}')).toBe(1);
    expect(sample(text, 'chat_sessions{transport="tcp"}')).toBe(0);
    expect(sample(text, 'chat_qos_pending')).toBe(7);
    expect(sample(text, 'chat_store_entries{store="dedup"}')).toBe(11);
    expect(sample(text, 'chat_kicks_total')).toBe(2);
    expect(sample(text, 'chat_c2s_duplicates_total')).toBe(5);
    expect(sample(text, 'chat_message_store_total{outcome="stored"}')).toBe(6);
    expect(sample(text, 'chat_message_store_total{outcome="refused"}')).toBe(2);
    expect(sample(text, 'chat_message_store_total{outcome="redelivered"}')).toBe(3);
    src.users.pop();
    expect(sample(await registry.metrics(), 'chat_sessions{transport="udp"}')).toBe(0);
  });

  it('refuses to register twice on one registry, and registers again after unregister', () => {
    const registry = new Registry();
    const first = new PrometheusIMMetrics(source(), { registry });
    first.register();
    expect(() => new PrometheusIMMetrics(source(), { registry }).register()).toThrow(/already registered.*metrics.registry or metrics.prefix/);
    first.unregister();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    new PrometheusIMMetrics(source(), { registry }).register();
    expect(registry.getSingleMetric('im_qos_pending')).toBeDefined();
  });

  it('uses prom-client\'s global registry by default', () => {
    const m = new PrometheusIMMetrics(source());
    expect(m.registry).toBe(require('prom-client').register);
  });
});

describe('close reasons and the no-op sink', () => {
  it('maps the core\'s close texts onto the closed set', () => {
    expect(closeReasonOf('idle timeout')).toBe('idle-timeout');
    expect(closeReasonOf('IM_QUEUE_OVERFLOW')).toBe('queue-overflow');
    expect(closeReasonOf('IM_FRAME_TOO_LARGE')).toBe('bad-input');
    expect(closeReasonOf('stale login')).toBe('stale-login');
    expect(closeReasonOf('something new')).toBe('other');
  });

  it('the default sink accepts every call', () => {
    expect(() => {
      NOOP_METRICS.packetIn('tcp', 2);
      NOOP_METRICS.qosDelivered(1, 1);
      NOOP_METRICS.connectionClosed('ws', 'logout');
    }).not.toThrow();
  });
});
