import { Packet } from '../protocol/packet';

/**
 * Where the core sends what is addressed to a user online nowhere on this
 * server (nor, with a cluster, on any node): the MobileIMSDK-Web bridge
 * (`lib/bridge`). Without it, such a user is offline.
 */
export interface BridgePort {
  /**
   * Publishes a client's C2C packet sent by `senderUserId`'s session. True once
   * the broker confirmed it (or it repeats one that was confirmed): the sender
   * is ACKed. False: the core takes the offline path.
   */
  forwardC2C(packet: Packet, senderUserId: string): Promise<boolean>;
  /** Publishes a server-originated packet (PushService); true once the broker confirmed it. */
  push(packet: Packet): Promise<boolean>;
}
