import { NO_USER_ID, PacketType, SERVER_USER_ID } from './packet-type';
import { clientPacket, Packet, serverPacket } from './packet';

/*
 * Builders of every packet of the protocol, both directions, so the server,
 * `nestjs-im/client` and the testing kit put the same bytes on the wire.
 */

/** Login info carried in a login packet's `dataContent` (PROTOCOL.md §3.2). */
export interface LoginInfo {
  /** The user id to log in as. */
  loginUserId: string;
  /** Credential passed to the application's `@OnLogin` handler. */
  loginToken?: string;
  /** Optional application string. */
  extra?: string;
  /** 0 or less on a device's first login; otherwise the value the server gave it then. */
  firstLoginTime: number;
  /**
   * The client wants error 404 (`IM_UNDELIVERABLE`, carrying the packet's `fp`) for a
   * QoS C2C that will not be delivered, instead of learning it from its own QoS
   * timing. `nestjs-im/client` sends it; the official SDKs do not (so they see
   * exactly what the reference sends), and the reference ignores the key.
   */
  notifyUndeliverable?: boolean;
}

/** Why a login packet's info could not be used. */
export type LoginInfoResult =
  | { ok: true; info: LoginInfo }
  /** No info or no loginUserId: the reference closes silently. */
  | { ok: false; reason: 'missing' }
  /** `dataContent` is not a JSON object: a parse failure. */
  | { ok: false; reason: 'malformed' };

/** Reads the login info of a type-0 packet with the reference's rules (§7.1). */
export function parseLoginInfo(dataContent: string | undefined): LoginInfoResult {
  if (dataContent === undefined || dataContent.trim() === '') return { ok: false, reason: 'missing' };
  let raw: unknown;
  try {
    raw = JSON.parse(dataContent);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (raw === null) return { ok: false, reason: 'missing' };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'malformed' };
  const o = raw as Record<string, unknown>;
  const userId = scalarText(o.loginUserId);
  if (userId === undefined) return { ok: false, reason: 'missing' };
  const flt = o.firstLoginTime;
  let firstLoginTime = 0;
  if (typeof flt === 'number' && Number.isFinite(flt)) firstLoginTime = Math.trunc(flt);
  else if (typeof flt === 'string' && /^\s*-?\d+\s*$/.test(flt)) firstLoginTime = Number(flt);
  return {
    ok: true,
    info: {
      loginUserId: userId, loginToken: scalarText(o.loginToken), extra: scalarText(o.extra), firstLoginTime,
      ...(o.notifyUndeliverable === true ? { notifyUndeliverable: true } : {}),
    },
  };
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

// ---- Sent by the server ----

/** Type 50: `{"code":0,"firstLoginTime":F}` to the user, or `{code, firstLoginTime:-1}` to "-1". */
export function loginResponse(code: number, userId: string, firstLoginTime: number): Packet {
  const ok = code === 0;
  return serverPacket(
    PacketType.LOGIN_RESPONSE,
    ok ? userId : NO_USER_ID,
    '{"code":' + code + ',"firstLoginTime":' + (ok ? firstLoginTime : -1) + '}',
  );
}

/** Type 51 keepalive response to the session's user. */
export function keepaliveResponse(userId: string): Packet {
  return serverPacket(PacketType.KEEPALIVE_RESPONSE, userId, '{}');
}

/** Type 52 error response: `{"errorCode":N,"errorMsg":"..."}`. */
export function errorResponse(errorCode: number, errorMsg: string, to = NO_USER_ID): Packet {
  return serverPacket(PacketType.ERROR, to, JSON.stringify({ errorCode, errorMsg }));
}

/** Type 54 kick-out; `reason` is left out when absent, as the reference does. */
export function kickoutPacket(userId: string, code: number, reason?: string): Packet {
  const body = reason === undefined ? { code } : { code, reason };
  return serverPacket(PacketType.KICKOUT, userId, JSON.stringify(body));
}

/**
 * Type 4 ACK of `fp`, from the acknowledging party to the original sender.
 * `bridge` is copied from the acknowledged packet by clients (PROTOCOL.md §10.6).
 */
export function ackPacket(fp: string | undefined, from: string | undefined, to: string | undefined, bridge = false): Packet {
  // A literal of the same shape as every other packet: this runs for every QoS message.
  return { bridge, type: PacketType.ACK, dataContent: fp, from, to, fp: undefined, QoS: false, typeu: -1, sm: -1 };
}

/** The ACK the SDKs send for a received QoS packet (PROTOCOL.md §10.6): addresses swapped, `bridge` copied. */
export function ackFor(packet: Packet): Packet {
  return ackPacket(packet.fp, packet.to, packet.from, packet.bridge);
}

// ---- Sent by clients ----

/**
 * Type 0 login, `from` the user, `to` "0"; keys in the SDK's order, `extra`
 * left out when absent. `notifyUndeliverable` is sent only when true: the
 * official SDKs never send it.
 */
export function loginPacket(info: LoginInfo): Packet {
  const body = {
    loginUserId: info.loginUserId,
    loginToken: info.loginToken,
    extra: info.extra,
    firstLoginTime: info.firstLoginTime,
    ...(info.notifyUndeliverable === true ? { notifyUndeliverable: true } : {}),
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
