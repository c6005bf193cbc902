import { NO_USER_ID, PacketType } from './packet-type';
import { Packet, serverPacket } from './packet';

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

/** Type 4 ACK of `fp`, from the acknowledging party to the original sender. */
export function ackPacket(fp: string, from: string, to: string | undefined): Packet {
  // A literal of the same shape as every other packet: this runs for every QoS message.
  return { bridge: false, type: PacketType.ACK, dataContent: fp, from, to, fp: undefined, QoS: false, typeu: -1, sm: -1 };
}
