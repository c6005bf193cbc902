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
  c2c: boolean;
  s2c: DeliveryResult;
  kick: boolean;
  supersede: 'kicked' | 'retired' | 'stale' | 'absent';
}

/** What travels on a node's channel. */
export type ClusterEnvelope =
  | { id: number; from: string; request: ClusterRequest }
  | { id: number; from: string; reply: unknown };
