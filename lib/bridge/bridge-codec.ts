import { IMErrorDefinition, IMErrors } from '../errors/im-error-codes';
import { Packet } from '../protocol/packet';
import { decodePacket, encodePacket } from '../protocol/packet-codec';
import { NO_USER_ID, PacketType, SERVER_USER_ID } from '../protocol/packet-type';

/** An inbound bridge message read as a packet to deliver, or why it is poison. */
export type BridgeInbound = { ok: true; packet: Packet } | { ok: false; error: IMErrorDefinition; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one message of the consumed queue as the reference does
 * (`BridgeProcessor.work`: UTF-8 JSON of one packet, then `QoS:true`,
 * `bridge:true`) and validates it like any packet from a client: one JSON
 * object with fields of the right types, a data packet from a user to a
 * user, with a fingerprint (the recipient must ACK it).
 */
export function decodeBridgeMessage(body: Buffer, maxBytes: number, lenient: boolean): BridgeInbound {
  if (body.length > maxBytes) return poison(IMErrors.FRAME_TOO_LARGE, `${body.length} bytes`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return poison(IMErrors.BAD_JSON, 'not UTF-8');
  }
  const decoded = decodePacket(text, { lenient });
  if (!decoded.ok) return poison(decoded.error, decoded.detail);
  const p = decoded.packet;
  if (p.type !== PacketType.DATA) return poison(IMErrors.BAD_FIELD, `type ${p.type} is not a data packet`);
  // from "0": the far server's own push (the reference bridges S2C sends too).
  if (!p.from || !isUser(p.to)) return poison(IMErrors.BAD_FIELD, 'no sender, or the recipient is not a user');
  if (!p.fp) return poison(IMErrors.MISSING_FINGERPRINT, 'no fp');
  return { ok: true, packet: { ...p, QoS: true, bridge: true } };
}

/** The message body this server publishes: the packet in the reference's key order, UTF-8. */
export function encodeBridgeMessage(p: Packet): Buffer {
  return Buffer.from(encodePacket(p), 'utf8');
}

function isUser(id: string | undefined): id is string {
  return id !== undefined && id !== '' && id !== SERVER_USER_ID && id !== NO_USER_ID;
}

function poison(error: IMErrorDefinition, detail: string): BridgeInbound {
  return { ok: false, error, detail };
}
