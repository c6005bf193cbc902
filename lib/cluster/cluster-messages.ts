import type { DeliveryResult } from '../core/im-core';
import { Packet } from '../protocol/packet';

/** Requests one node sends another over its channel. */
export type ClusterRequest =
  | { kind: 'c2c'; packet: Packet }
  | { kind: 's2c'; userId: string; packet: Packet }
  | { kind: 'kick'; userId: string; reason?: string }
  /** `clientTime`: the firstLoginTime the new login's client sent; `sessionId`: the session its claim replaced. */
  | { kind: 'supersede'; userId: string; clientTime: number; sessionId?: number };

/** The answers, by request kind. */
export interface ClusterReplies {
  /** Written to the user's session there; `'unknown'` only as the sender's fallback when no answer came in time. */
  c2c: boolean | 'unknown';
  s2c: DeliveryResult;
  kick: boolean;
  supersede: 'kicked' | 'retired' | 'stale' | 'absent';
}

/** Version of the envelope format; a node ignores (and counts) envelopes of another version. */
export const ENVELOPE_VERSION = 1;

/**
 * What travels on a node's channel: the requests and replies one node made for another in one
 * turn of its event loop, in order; each request's id comes back with its reply.
 */
export interface ClusterEnvelope {
  v: number;
  from: string;
  requests?: Array<[number, ClusterRequest]>;
  replies?: Array<[number, unknown]>;
}
