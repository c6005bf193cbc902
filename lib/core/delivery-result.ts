/** Outcome of a server-to-client send (PushService). */
export type DeliveryStatus =
  /** The client ACKed the packet (QoS). */
  | 'delivered'
  /** No ACK after every retransmission (QoS). */
  | 'lost'
  /** The user had no session, or the write failed. */
  | 'offline'
  /** Written to the user's session; no ACK was asked for (no QoS). */
  | 'sent'
  /** Larger than the user's transport and SDK accept (QUIRK-17); not sent. */
  | 'too-large'
  /** Online nowhere here: published to the MobileIMSDK-Web bridge and confirmed by the broker; the far side delivers it. */
  | 'bridged'
  /** Cluster: sent to the user's node, which did not answer in time; it may or may not have been delivered. */
  | 'unknown';

/** Result of one server-to-client send. */
export interface DeliveryResult {
  readonly userId: string;
  readonly status: DeliveryStatus;
  /** Fingerprint of a QoS packet. */
  readonly fp?: string;
}
