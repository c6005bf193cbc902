import type { TransportKind } from '../protocol/transport-kind';
import type { QoSOptions } from '../im-options.interface';

/**
 * When the server retransmits a packet its recipient has not ACKed, and when it
 * gives up (PROTOCOL.md §10.4). Attempt 0 is the first write; attempt n+1
 * follows attempt n by `delayMs(n)`. A retransmission happens while fewer than
 * `maxRetransmits` were made and no later than `lifetimeMs` after the first
 * write; the packet is given up one delay after the last attempt.
 */
export interface RetransmitPolicy {
  /** For logs: `constant` or `backoff`. */
  readonly kind: string;
  /** Delay after attempt `attempt` (0: the first write) to the next attempt, or to giving up after the last. */
  delayMs(attempt: number): number;
  /** Retransmissions at most. */
  readonly maxRetransmits: number;
  /** No retransmission later than this after the first write. */
  readonly lifetimeMs: number;
}

/** The reference's policy (TCP, WebSocket): the same interval before every retransmission and before giving up. */
export function constantRetransmitPolicy(intervalMs: number, maxRetransmits: number): RetransmitPolicy {
  return { kind: 'constant', delayMs: () => intervalMs, maxRetransmits, lifetimeMs: intervalMs * maxRetransmits };
}

/** Options of {@link backoffRetransmitPolicy}. */
export interface BackoffPolicyOptions {
  /** Delay after the first write. */
  initialDelayMs: number;
  /** Each delay is the previous one times this factor... */
  factor: number;
  /** ...up to this. */
  maxDelayMs: number;
  maxRetransmits: number;
  lifetimeMs: number;
}

/** Exponential backoff bounded by a lifetime (UDP: a lossy link needs more attempts, spaced out). */
export function backoffRetransmitPolicy(o: BackoffPolicyOptions): RetransmitPolicy {
  // Delays are precomputed: few distinct values keep the send table's timer lanes few.
  const delays: number[] = [];
  for (let n = 0, d = o.initialDelayMs; n <= o.maxRetransmits; n++, d = Math.min(o.maxDelayMs, Math.round(d * o.factor))) {
    delays.push(Math.min(d, o.maxDelayMs));
  }
  return {
    kind: 'backoff',
    delayMs: (attempt) => delays[Math.min(attempt, delays.length - 1)],
    maxRetransmits: o.maxRetransmits,
    lifetimeMs: o.lifetimeMs,
  };
}

/** Longest time from the first write until `policy` gives a packet up (its outcome is then known). */
export function giveUpAfterMs(policy: RetransmitPolicy): number {
  let t = policy.delayMs(0);
  for (let n = 1; n <= policy.maxRetransmits && t <= policy.lifetimeMs; n++) t += policy.delayMs(n);
  return t;
}

/** The policy of each transport from the resolved `qos` options: TCP and WebSocket as the reference, UDP with backoff. */
export function retransmitPolicies(qos: Required<QoSOptions>): Readonly<Record<TransportKind, RetransmitPolicy>> {
  const stream = constantRetransmitPolicy(qos.retransmitIntervalMs, qos.maxRetransmits);
  const udp = backoffRetransmitPolicy({
    initialDelayMs: qos.udpRetransmitIntervalMs,
    factor: qos.udpRetransmitBackoff,
    maxDelayMs: qos.udpMaxRetransmitIntervalMs,
    maxRetransmits: qos.udpMaxRetransmits,
    lifetimeMs: qos.udpRetransmitLifetimeMs,
  });
  return { tcp: stream, ws: stream, udp };
}

/**
 * How long a node waits for another node's QoS push outcome (the cluster): the
 * slowest policy's verdict plus one first delay for the round trips.
 */
export function qosOutcomeDeadlineMs(qos: Required<QoSOptions>): number {
  return Math.max(...Object.values(retransmitPolicies(qos)).map((p) => giveUpAfterMs(p) + p.delayMs(0)));
}
