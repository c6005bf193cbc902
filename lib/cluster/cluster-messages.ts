import type { DeliveryResult } from '../core/delivery-result';
import type { Packet } from '../protocol/packet';

/** Requests one node sends another over its channel. */
export type ClusterRequest =
  | { kind: 'c2c'; packet: Packet }
  | { kind: 's2c'; userId: string; packet: Packet }
  | { kind: 'kick'; userId: string; reason?: string }
  /** `clientTime`: the firstLoginTime the new login's client sent; `sessionId`: the session its claim replaced. */
  | { kind: 'supersede'; userId: string; clientTime: number; sessionId?: number };

/** The answers, by request kind. */
export interface ClusterReplies {
  /** Written to the user's session there; `'unknown'` only as the sender's fallback when no answer came in time. */
  c2c: boolean | 'unknown';
  s2c: DeliveryResult;
  kick: boolean;
  supersede: 'kicked' | 'retired' | 'stale' | 'absent';
}

/** Version of the envelope format; a node ignores (and counts) envelopes of another version. */
export const ENVELOPE_VERSION = 1;

/**
 * What travels on a node's channel: the requests and replies one node made for another in one
 * turn of its event loop, in order; each request's id comes back with its reply.
 */
export interface ClusterEnvelope {
  v: number;
  from: string;
  requests?: Array<[number, ClusterRequest]>;
  replies?: Array<[number, unknown]>;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A routed packet as the core needs it: a data packet to a user, with an fp when it asks for QoS. */
function isPacket(v: unknown): v is Packet {
  if (!isObject(v) || !isNumber(v.type) || !isString(v.to) || !isString(v.from)) return false;
  return v.fp === undefined || isString(v.fp);
}

/** Whether `v` is a well-formed request (another node's, so untrusted as any input is). */
export function isClusterRequest(v: unknown): v is ClusterRequest {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'c2c':
      return isPacket(v.packet);
    case 's2c':
      return isString(v.userId) && isPacket(v.packet);
    case 'kick':
      return isString(v.userId) && (v.reason === undefined || isString(v.reason));
    case 'supersede':
      return isString(v.userId) && isNumber(v.clientTime) && (v.sessionId === undefined || isNumber(v.sessionId));
    default:
      return false;
  }
}

const SUPERSEDE_OUTCOMES: ReadonlySet<unknown> = new Set(['kicked', 'retired', 'stale', 'absent']);

/** Whether `reply` is a well-formed answer to a request of `kind`. */
export function isClusterReply(kind: ClusterRequest['kind'], reply: unknown): boolean {
  switch (kind) {
    case 'c2c':
    case 'kick':
      return typeof reply === 'boolean';
    case 's2c':
      return isObject(reply) && isString(reply.userId) && isString(reply.status);
    case 'supersede':
      return SUPERSEDE_OUTCOMES.has(reply);
  }
}

/**
 * Reads an envelope: the parsed envelope, or why it is refused (not JSON, another version,
 * malformed). Each request and reply pair is checked for shape here; requests by kind too.
 */
export function parseEnvelope(text: string): { ok: true; envelope: ClusterEnvelope } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(v)) return { ok: false, reason: 'not an object' };
  if (v.v !== ENVELOPE_VERSION) return { ok: false, reason: `version ${JSON.stringify(v.v)?.slice(0, 20)} (this node speaks ${ENVELOPE_VERSION})` };
  if (!isString(v.from)) return { ok: false, reason: 'no sender node' };
  const pairs = (list: unknown, check: (item: unknown) => boolean) =>
    list === undefined || (Array.isArray(list) && list.every((p) => Array.isArray(p) && p.length === 2 && isNumber(p[0]) && check(p[1])));
  if (!pairs(v.requests, isClusterRequest)) return { ok: false, reason: 'malformed requests' };
  if (!pairs(v.replies, () => true)) return { ok: false, reason: 'malformed replies' };
  return { ok: true, envelope: v as unknown as ClusterEnvelope };
}
