/**
 * One MobileIMSDK packet (the reference's `Protocal`), in its parsed form.
 * Field names are the wire names; absent string fields are `undefined`.
 */
export interface Packet {
  /** The packet crossed the MobileIMSDK-Web bridge; passed through unchanged. */
  bridge: boolean;
  /** Packet type code, see {@link PacketType}. */
  type: number;
  /** Payload; always a string on the wire (JSON text for control types). */
  dataContent?: string;
  /** Sender's user id ("0" for the server). */
  from?: string;
  /** Receiver's user id ("0" for the server). */
  to?: string;
  /** Fingerprint of a QoS packet. */
  fp?: string;
  /** The receiver must ACK this packet. */
  QoS: boolean;
  /** Application-defined message type; -1 when the server builds the packet. */
  typeu: number;
  /** Server timestamp in epoch ms, or -1. */
  sm: number;
}

/** Builds a packet the way the server makes its own: `from:"0"`, `typeu:-1`, `sm:-1`. */
export function serverPacket(type: number, to: string, dataContent?: string, fields?: Partial<Packet>): Packet {
  return {
    bridge: false,
    type,
    dataContent,
    from: '0',
    to,
    fp: undefined,
    QoS: false,
    typeu: -1,
    sm: -1,
    ...fields,
  };
}

/** A packet to send: `type` plus any fields; see {@link clientPacket} for the defaults. */
export type PacketInit = Partial<Packet> & { type: number };

/**
 * Completes a packet the way the Java SDK builds one: `bridge` and `QoS`
 * false, `typeu` and `sm` -1; string fields stay absent unless given.
 */
export function clientPacket(init: PacketInit): Packet {
  return {
    bridge: init.bridge ?? false,
    type: init.type,
    dataContent: init.dataContent,
    from: init.from,
    to: init.to,
    fp: init.fp,
    QoS: init.QoS ?? false,
    typeu: init.typeu ?? -1,
    sm: init.sm ?? -1,
  };
}
