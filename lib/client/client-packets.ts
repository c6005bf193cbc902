import { Packet } from '../protocol/packet';
import { PacketType, SERVER_USER_ID } from '../protocol/packet-type';

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

/** What {@link loginPacket} puts in the login info (PROTOCOL.md §3.2). */
export interface LoginPacketInfo {
  loginUserId: string;
  loginToken?: string;
  extra?: string;
  firstLoginTime: number;
}

/** Type 0 login, `from` the user, `to` "0"; keys in the SDK's order, `extra` left out when absent. */
export function loginPacket(info: LoginPacketInfo): Packet {
  const body = {
    loginUserId: info.loginUserId,
    loginToken: info.loginToken,
    extra: info.extra,
    firstLoginTime: info.firstLoginTime,
    // Ask for error 404 with the fp when a C2C will not be delivered (ignored by other servers).
    notifyUndeliverable: true,
  };
  return clientPacket({ type: PacketType.LOGIN, dataContent: JSON.stringify(body), from: info.loginUserId, to: SERVER_USER_ID });
}

/** Type 1 keepalive with the SDK's `"{}"` payload. */
export function keepalivePacket(from: string | undefined): Packet {
  return clientPacket({ type: PacketType.KEEPALIVE, dataContent: '{}', from, to: SERVER_USER_ID });
}

/** Type 3 logout; the SDKs send it without `dataContent`. */
export function logoutPacket(from: string | undefined): Packet {
  return clientPacket({ type: PacketType.LOGOUT, from, to: SERVER_USER_ID });
}

/** Type 5 echo request. */
export function echoPacket(from: string | undefined, data: string): Packet {
  return clientPacket({ type: PacketType.ECHO, dataContent: data, from, to: SERVER_USER_ID });
}

/** Options of {@link dataPacket}. */
export interface DataPacketOptions {
  /** Ask for an ACK. */
  qos: boolean;
  /** Application message type. */
  typeu: number;
  /** Fingerprint; given or generated for QoS, absent otherwise (as in the SDK). */
  fp?: string;
}

/** Type 2 data; `to` "0" is C2S, any other id C2C. */
export function dataPacket(from: string | undefined, to: string, data: string, o: DataPacketOptions): Packet {
  return clientPacket({ type: PacketType.DATA, dataContent: data, from, to, fp: o.fp, QoS: o.qos, typeu: o.typeu });
}

/** The ACK the SDKs send for a received QoS packet (PROTOCOL.md §10.6): addresses swapped, `bridge` copied. */
export function ackFor(packet: Packet): Packet {
  return clientPacket({
    type: PacketType.ACK,
    dataContent: packet.fp,
    from: packet.to,
    to: packet.from,
    bridge: packet.bridge,
  });
}
