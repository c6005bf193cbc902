import { Packet } from '../protocol/packet';
import type { DeliveryResult } from './delivery-result';

/**
 * Where the core sends what is addressed to a user who has no session on this
 * node. Implemented by the Redis cluster (`lib/cluster`); without it, such a
 * user is offline.
 */
export interface RemoteRouter {
  /** Delivers a C2C packet to the user's session on another node; false if none took it. */
  forwardC2C(packet: Packet): Promise<boolean>;
  /** Sends an S2C packet to the user on another node; undefined if the user is online nowhere. */
  push(userId: string, packet: Packet): Promise<DeliveryResult | undefined>;
  /** Kicks the user on another node; false if the user is online nowhere. */
  kick(userId: string, reason?: string): Promise<boolean>;
}
