import type { TransportKind } from '../protocol/transport-kind';
import { IMCloseReason } from './close-reason';

/** Outcome of a login, the `outcome` label of `im_logins_total`. */
export type IMLoginOutcome = 'accepted' | 'refused';

/** Kind of a data packet, the `kind` label of `im_messages_total`. */
export type IMMessageKind = 'c2c' | 'c2s' | 's2c';

/** How a request to another cluster node ended, the `outcome` label of the cluster metrics. */
export type IMClusterOutcome = 'answered' | 'timeout' | 'unreachable' | 'failed';

/**
 * The metrics seam: the core, the transports and the cluster report what
 * happens here, with transport and reason labels. The default is
 * {@link NOOP_METRICS}; `IMModule.forRoot({ metrics: {} })` installs the
 * Prometheus sink. Calls sit on the packet path: an implementation must only
 * bump numbers in place and do its real work at scrape time.
 */
export interface IMMetrics {
  /** A transport opened a session (TCP accept, WebSocket upgrade, first UDP datagram). */
  connectionOpened(transport: TransportKind): void;
  /** A session ended. */
  connectionClosed(transport: TransportKind, reason: IMCloseReason): void;
  /** A login was accepted or refused. */
  login(transport: TransportKind, outcome: IMLoginOutcome): void;
  /** A packet was decoded from a client. */
  packetIn(transport: TransportKind, type: number): void;
  /** A packet was handed to a client's connection. */
  packetOut(transport: TransportKind, type: number): void;
  /** A data packet: C2C and C2S by the sender's transport, S2C by the recipient's. */
  message(transport: TransportKind, kind: IMMessageKind): void;
  /** Input dropped by a rate limit (`IM_RATE_LIMITED`, `IM_QUEUE_OVERFLOW`). */
  rateLimited(transport: TransportKind, reason: string): void;
  /** A connection or packet refused by a rule (an `IMErrors` id: `IM_TOO_MANY_CONNECTIONS`, `IM_FORGED_SENDER`, ...). */
  refused(transport: TransportKind, reason: string): void;
  /** Input that is not a valid packet (an `IMErrors` id: `IM_BAD_JSON`, `IM_FRAME_TOO_LARGE`, ...). */
  badInput(transport: TransportKind, reason: string): void;
  /** A QoS packet was written again. */
  qosRetransmitted(): void;
  /** A QoS packet was ACKed: ms since its last write (round trip) and since its first write (delivery latency). */
  qosDelivered(ackRoundTripMs: number, deliveryLatencyMs: number): void;
  /** QoS packets ran out of retransmissions. */
  qosLost(count: number): void;
  /** A request to another cluster node settled (`kind`: c2c, s2c, kick, supersede). */
  clusterRequest(kind: string, durationMs: number, outcome: IMClusterOutcome): void;
}

/** The default sink: does nothing, so the calls cost a call each. */
export class NoopIMMetrics implements IMMetrics {
  connectionOpened(): void {}
  connectionClosed(): void {}
  login(): void {}
  packetIn(): void {}
  packetOut(): void {}
  message(): void {}
  rateLimited(): void {}
  refused(): void {}
  badInput(): void {}
  qosRetransmitted(): void {}
  qosDelivered(): void {}
  qosLost(): void {}
  clusterRequest(): void {}
}

/** The shared no-op sink. */
export const NOOP_METRICS: IMMetrics = new NoopIMMetrics();
