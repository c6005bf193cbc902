import type { Counter, Gauge, Histogram } from 'prom-client';
import type { TransportKind } from '../protocol/transport-kind';
import { PacketType } from '../protocol/packet-type';
import { BucketHistogram } from './bucket-histogram';
import { IMCloseReason } from './close-reason';
import { IMClusterOutcome, IMLoginOutcome, IMMessageKind, IMMetrics } from './im-metrics';
import { DEFAULT_LATENCY_BUCKETS, IMMetricsOptions, IMMetricsRegistry } from './metrics-options';

/** What the sink reads at scrape time (the core implements it). */
export interface IMMetricsSource {
  /** Logged-in sessions, counted by transport. */
  readonly online: { sessions(): Iterable<{ readonly transport: TransportKind }> };
  readonly pendingQoS: number;
  readonly dedupEntries: number;
  readonly stats: { readonly kicks: number; readonly handlerErrors: number; readonly c2cOffline: number; readonly c2sDuplicates: number };
}

const TRANSPORTS: readonly TransportKind[] = ['tcp', 'udp', 'ws'];
/** Index of each transport in the in-place counter arrays; a Record so a new TransportKind fails to compile here. */
const T: Readonly<Record<TransportKind, number>> = { tcp: 0, udp: 1, ws: 2 };
const KINDS: readonly IMMessageKind[] = ['c2c', 'c2s', 's2c'];
const K: Readonly<Record<IMMessageKind, number>> = { c2c: 0, c2s: 1, s2c: 2 };
/** Packet types 0-63 are counted by code; anything else lands in the last slot, labelled "unknown". */
const TYPE_SLOTS = 64;
const TYPE_NAMES: string[] = Array.from({ length: TYPE_SLOTS }, () => 'unknown');
for (const [name, code] of Object.entries(PacketType)) TYPE_NAMES[code] = name.toLowerCase();

type PromClient = typeof import('prom-client');

/**
 * The Prometheus sink. Per-packet calls bump numbers in typed arrays; the
 * prom-client counters and gauges read them in their `collect()` callbacks,
 * when the registry is scraped. Per-session and abuse events (logins, closes,
 * refusals) are rare enough to go to prom-client directly.
 */
export class PrometheusIMMetrics implements IMMetrics {
  /** The registry the metrics are registered on. */
  readonly registry: IMMetricsRegistry;
  private readonly packetsIn = new Float64Array(TRANSPORTS.length * TYPE_SLOTS);
  private readonly packetsOut = new Float64Array(TRANSPORTS.length * TYPE_SLOTS);
  private readonly messages = new Float64Array(TRANSPORTS.length * KINDS.length);
  private readonly opened = new Float64Array(TRANSPORTS.length);
  private readonly closed = new Float64Array(TRANSPORTS.length);
  private retransmitted = 0;
  private delivered = 0;
  private lost = 0;
  private readonly ackRtt: BucketHistogram;
  private readonly deliveryLatency: BucketHistogram;
  private readonly logins: Counter<'transport' | 'outcome'>;
  // By reason: floods of bad or excess input hit these, so they count in place too.
  private readonly closes = new ReasonCounts();
  private readonly rateLimitedTotal = new ReasonCounts();
  private readonly refusedTotal = new ReasonCounts();
  private readonly badInputTotal = new ReasonCounts();
  private readonly clusterDuration: Histogram<'kind'>;
  private readonly clusterRequests: Counter<'kind' | 'outcome'>;
  private readonly metrics: { name: string; metric: unknown }[] = [];

  constructor(source: IMMetricsSource, options: IMMetricsOptions = {}) {
    // Loaded here: applications that leave metrics off need not install prom-client.
    const prom = require('prom-client') as PromClient;
    this.registry = options.registry ?? prom.register;
    const p = options.prefix ?? 'im_';
    const buckets = options.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS;
    const self = this;
    const counter = <L extends string>(name: string, help: string, labelNames: L[], collect?: (c: Counter<L>) => void) =>
      this.add(p + name, new prom.Counter<L>({ name: p + name, help, labelNames, registers: [], ...(collect && { collect() { collect(this); } }) }));
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect: (g: Gauge<L>) => void) =>
      this.add(p + name, new prom.Gauge<L>({ name: p + name, help, labelNames, registers: [], collect() { collect(this); } }));

    counter('connections_opened_total', 'Sessions opened by a transport (TCP accept, WebSocket upgrade, first UDP datagram).', ['transport'], (c) =>
      perTransport(c, self.opened));
    gauge('connections', 'Open transport sessions (TCP and WebSocket connections, UDP peers).', ['transport'], (g) => {
      g.reset();
      for (const t of TRANSPORTS) g.set({ transport: t }, self.opened[T[t]] - self.closed[T[t]]);
    });
    gauge('sessions', 'Logged-in sessions (users online on this node).', ['transport'], (g) => {
      const n = [0, 0, 0];
      for (const s of source.online.sessions()) n[T[s.transport]]++;
      g.reset();
      for (const t of TRANSPORTS) g.set({ transport: t }, n[T[t]]);
    });
    this.logins = counter('logins_total', 'Logins by outcome.', ['transport', 'outcome']);
    counter('packets_in_total', 'Packets decoded from clients, by packet type.', ['transport', 'type'], (c) => byType(c, self.packetsIn));
    counter('packets_out_total', 'Packets written to clients, by packet type.', ['transport', 'type'], (c) => byType(c, self.packetsOut));
    counter('messages_total', 'Data packets: c2c and c2s by the sender\'s transport, s2c by the recipient\'s.', ['transport', 'kind'], (c) => {
      c.reset();
      for (const t of TRANSPORTS) for (const k of KINDS) c.inc({ transport: t, kind: k }, self.messages[T[t] * KINDS.length + K[k]]);
    });
    gauge('qos_pending', 'Packets waiting for their recipient\'s ACK.', [], (g) => g.set(source.pendingQoS));
    counter('qos_retransmitted_total', 'QoS packets written again for want of an ACK.', [], (c) => set(c, self.retransmitted));
    counter('qos_delivered_total', 'QoS packets ACKed by their recipient.', [], (c) => set(c, self.delivered));
    counter('qos_lost_total', 'QoS packets that ran out of retransmissions.', [], (c) => set(c, self.lost));
    this.ackRtt = this.add(p + 'qos_ack_rtt_seconds', new BucketHistogram(p + 'qos_ack_rtt_seconds', 'From the last write of a QoS packet to its ACK.', buckets));
    this.deliveryLatency = this.add(
      p + 'delivery_latency_seconds',
      new BucketHistogram(p + 'delivery_latency_seconds', 'From the first write of a QoS packet to its ACK, retransmissions included.', buckets),
    );
    counter('rate_limited_total', 'Input dropped by a rate limit.', ['transport', 'reason'], (c) => self.rateLimitedTotal.publish(c));
    counter('refused_total', 'Connections and packets refused by a rule.', ['transport', 'reason'], (c) => self.refusedTotal.publish(c));
    counter('bad_input_total', 'Input that is not a valid packet.', ['transport', 'reason'], (c) => self.badInputTotal.publish(c));
    counter('closes_total', 'Sessions ended, by reason.', ['transport', 'reason'], (c) => self.closes.publish(c));
    gauge('store_entries', 'Entries in the server\'s in-memory tables.', ['store'], (g) => {
      g.set({ store: 'qos' }, source.pendingQoS);
      g.set({ store: 'dedup' }, source.dedupEntries);
    });
    counter('kicks_total', 'Kick-outs sent (duplicate login, application kick, stale device).', [], (c) => set(c, source.stats.kicks));
    counter('handler_errors_total', 'Application handlers that threw an unexpected error.', [], (c) => set(c, source.stats.handlerErrors));
    counter('c2c_offline_total', 'C2C messages whose recipient was online nowhere (the offline path).', [], (c) =>
      set(c, source.stats.c2cOffline));
    counter('c2s_duplicates_total', 'C2S retransmissions recognised as duplicates and not handled again.', [], (c) =>
      set(c, source.stats.c2sDuplicates));
    this.clusterDuration = this.add(
      p + 'cluster_request_duration_seconds',
      new prom.Histogram<'kind'>({
        name: p + 'cluster_request_duration_seconds',
        help: 'Requests to other cluster nodes, from publish to answer (or timeout).',
        labelNames: ['kind'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [],
      }),
    );
    this.clusterRequests = counter('cluster_requests_total', 'Requests to other cluster nodes by outcome (timeout: no answer in time).', [
      'kind',
      'outcome',
    ]);
  }

  /** Names of the registered metrics. */
  get names(): string[] {
    return this.metrics.map((m) => m.name);
  }

  /** Registers every metric; refuses a name already there (another application in this process: pass `registry` or `prefix`). */
  register(): void {
    const taken = this.metrics.filter((m) => this.registry.getSingleMetric(m.name));
    if (taken.length > 0) {
      throw new Error(
        `nestjs-im metrics: ${taken.map((m) => m.name).join(', ')} already registered; ` +
          'give each IMModule in this process its own metrics.registry or metrics.prefix',
      );
    }
    // BucketHistogram has what the registry reads (name, help, type, get) but is not one of prom-client's classes.
    for (const m of this.metrics) this.registry.registerMetric(m.metric as never);
  }

  /** Removes the metrics from the registry (module shutdown), so the application can be created again. */
  unregister(): void {
    for (const m of this.metrics) if (this.registry.getSingleMetric(m.name) === m.metric) this.registry.removeSingleMetric(m.name);
  }

  // ------------------------------------------------------------ IMMetrics

  connectionOpened(transport: TransportKind): void {
    this.opened[T[transport]]++;
  }

  connectionClosed(transport: TransportKind, reason: IMCloseReason): void {
    this.closed[T[transport]]++;
    this.closes.inc(transport, reason);
  }

  login(transport: TransportKind, outcome: IMLoginOutcome): void {
    this.logins.inc({ transport, outcome });
  }

  packetIn(transport: TransportKind, type: number): void {
    this.packetsIn[T[transport] * TYPE_SLOTS + typeSlot(type)]++;
  }

  packetOut(transport: TransportKind, type: number): void {
    this.packetsOut[T[transport] * TYPE_SLOTS + typeSlot(type)]++;
  }

  message(transport: TransportKind, kind: IMMessageKind): void {
    this.messages[T[transport] * KINDS.length + K[kind]]++;
  }

  rateLimited(transport: TransportKind, reason: string): void {
    this.rateLimitedTotal.inc(transport, reason);
  }

  refused(transport: TransportKind, reason: string): void {
    this.refusedTotal.inc(transport, reason);
  }

  badInput(transport: TransportKind, reason: string): void {
    this.badInputTotal.inc(transport, reason);
  }

  qosRetransmitted(): void {
    this.retransmitted++;
  }

  qosDelivered(ackRoundTripMs: number, deliveryLatencyMs: number): void {
    this.delivered++;
    this.ackRtt.observe(ackRoundTripMs / 1000);
    this.deliveryLatency.observe(deliveryLatencyMs / 1000);
  }

  qosLost(count: number): void {
    this.lost += count;
  }

  clusterRequest(kind: string, durationMs: number, outcome: IMClusterOutcome): void {
    this.clusterDuration.observe({ kind }, durationMs / 1000);
    this.clusterRequests.inc({ kind, outcome });
  }

  private add<M>(name: string, metric: M): M {
    this.metrics.push({ name, metric });
    return metric;
  }
}

/** Counts by (transport, reason) in place: one map lookup per event, no label hashing. */
class ReasonCounts {
  private readonly byReason = new Map<string, Float64Array>();

  inc(transport: TransportKind, reason: string): void {
    let counts = this.byReason.get(reason);
    if (!counts) this.byReason.set(reason, (counts = new Float64Array(TRANSPORTS.length)));
    counts[T[transport]]++;
  }

  publish(c: Counter<'transport' | 'reason'>): void {
    c.reset();
    for (const [reason, counts] of this.byReason) {
      for (const t of TRANSPORTS) if (counts[T[t]] > 0) c.inc({ transport: t, reason }, counts[T[t]]);
    }
  }
}

function typeSlot(type: number): number {
  return type >= 0 && type < TYPE_SLOTS - 1 ? type : TYPE_SLOTS - 1;
}

/** Publishes an in-place total as the counter's value (counters are only read at scrape time). */
function set(c: Counter, value: number): void {
  c.reset();
  c.inc(value);
}

function perTransport(c: Counter<'transport'>, values: Float64Array): void {
  c.reset();
  for (const t of TRANSPORTS) c.inc({ transport: t }, values[T[t]]);
}

/** Publishes the non-zero (transport, type) cells: a few dozen series, not 192. */
function byType(c: Counter<'transport' | 'type'>, values: Float64Array): void {
  c.reset();
  for (const t of TRANSPORTS) {
    for (let type = 0; type < TYPE_SLOTS; type++) {
      const v = values[T[t] * TYPE_SLOTS + type];
      if (v > 0) c.inc({ transport: t, type: TYPE_NAMES[type] }, v);
    }
  }
}
