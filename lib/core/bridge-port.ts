import type { Subject } from 'rxjs';
import type { Packet } from '../protocol/packet';
import type { Clock } from './clock';
import type { IMCoreEvent, IMStats } from './im-events';

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

/**
 * What the bridge (`lib/bridge`) may do with the core (the core implements
 * it): install itself, deliver what the broker brings to users of this node,
 * count in the core's stats and emit `bridged` events.
 */
export interface BridgeHostPort {
  readonly clock: Clock;
  readonly stats: IMStats;
  /** The core's event stream: the bridge adds its `bridged` events. */
  readonly events: Subject<IMCoreEvent>;
  /** Installs the bridge as the route for users online nowhere (undefined: removes it). */
  setBridge(bridge: BridgePort | undefined): void;
  /** Delivers a packet the broker brought to its recipient here, with QoS as a local C2C. */
  deliverBridged(packet: Packet): Promise<'delivered' | 'stored' | 'dropped' | 'unknown'>;
}
