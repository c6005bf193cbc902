import { Packet } from '../protocol/packet';
import type { DeliveryResult } from './delivery-result';

/** What became of a C2C sent to another node (see {@link RemoteRouter.forwardC2C}). */
export type RemoteC2COutcome = 'delivered' | 'absent' | 'unknown';

/**
 * Where the core sends what is addressed to a user who has no session on this
 * node. Implemented by the Redis cluster (`lib/cluster`); without it, such a
 * user is offline.
 */
export interface RemoteRouter {
  /**
   * Delivers a C2C packet to the user's session on another node: `delivered` (written there),
   * `absent` (no node took it: nothing was written anywhere) or `unknown` (sent, but no answer
   * in time: it may have been written).
   */
  forwardC2C(packet: Packet): Promise<RemoteC2COutcome>;
  /** Sends an S2C packet to the user on another node; undefined if the user is online nowhere. */
  push(userId: string, packet: Packet): Promise<DeliveryResult | undefined>;
  /** Kicks the user on another node; false if the user is online nowhere. */
  kick(userId: string, reason?: string): Promise<boolean>;
}
