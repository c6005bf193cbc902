import { IMErrors, IMErrorDefinition } from '../errors/im-error-codes';
import { parseLenientJson } from './lenient-json';
import { Packet } from './packet';

/** Result of decoding one frame body: a packet, or the registered reason it is not one. */
export type DecodeResult = { ok: true; packet: Packet } | { ok: false; error: IMErrorDefinition; detail: string };

/** Options of {@link decodePacket}. */
export interface DecodeOptions {
  /** Accept the reference's lenient JSON forms (single quotes, unquoted keys). */
  lenient?: boolean;
}

/**
 * Parses one frame body into a packet with the reference's defaults for
 * missing keys (PROTOCOL.md §2.3). Total: never throws.
 */
export function decodePacket(text: string, options?: DecodeOptions): DecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = options?.lenient === false ? undefined : parseLenientJson(text);
    if (raw === undefined) return fail(IMErrors.BAD_JSON, 'not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail(IMErrors.BAD_JSON, 'not a JSON object');
  }
  return packetFromObject(raw as Record<string, unknown>);
}

/** Validates and coerces a parsed JSON object into a {@link Packet}. */
export function packetFromObject(o: Record<string, unknown>): DecodeResult {
  // Java reads type and typeu as int and sm as long.
  const type = toInt(o.type, 0, INT32);
  const typeu = toInt(o.typeu, 0, INT32);
  const sm = toInt(o.sm, 0, Number.MAX_VALUE);
  const bridge = toBool(o.bridge);
  const QoS = toBool(o.QoS);
  const dataContent = toStr(o.dataContent);
  const from = toStr(o.from);
  const to = toStr(o.to);
  const fp = toStr(o.fp);
  if (type === BAD || typeu === BAD || sm === BAD || bridge === BAD || QoS === BAD) {
    return fail(IMErrors.BAD_FIELD, 'number or boolean field of the wrong type');
  }
  if (dataContent === BAD || from === BAD || to === BAD || fp === BAD) {
    return fail(IMErrors.BAD_FIELD, 'string field holds an object or array');
  }
  return { ok: true, packet: { bridge, type, dataContent, from, to, fp, QoS, typeu, sm } };
}

function fail(error: IMErrorDefinition, detail: string): DecodeResult {
  return { ok: false, error, detail };
}

/** Marker for a field whose value has the wrong type. */
const BAD = Symbol('bad');

const INT32 = 2 ** 31;

/** An integral number within ±`limit` (a long beyond 2^53 keeps its double value). */
function toInt(v: unknown, dflt: number, limit: number): number | typeof BAD {
  if (v === undefined || v === null) return dflt;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*[-+]?\d+(\.0*)?\s*$/.test(v)) n = Number(v);
  else return BAD;
  return Number.isInteger(n) && n >= -limit && n < limit ? n : BAD;
}

function toBool(v: unknown): boolean | typeof BAD {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  // Gson reads "true" in any case as true and any other string as false.
  if (typeof v === 'string') return v.toLowerCase() === 'true';
  return BAD;
}

function toStr(v: unknown): string | undefined | typeof BAD {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return BAD;
}

/**
 * Serialises a packet the way MobileIMSDK clients expect (PROTOCOL.md §2.2):
 * compact JSON, keys in the reference's order, absent strings left out.
 * Built by hand because it is on every packet's path.
 */
export function encodePacket(p: Packet): string {
  let s = '{"bridge":' + (p.bridge ? 'true' : 'false') + ',"type":' + p.type;
  if (p.dataContent !== undefined) s += ',"dataContent":' + JSON.stringify(p.dataContent);
  if (p.from !== undefined) s += ',"from":' + JSON.stringify(p.from);
  if (p.to !== undefined) s += ',"to":' + JSON.stringify(p.to);
  if (p.fp !== undefined) s += ',"fp":' + JSON.stringify(p.fp);
  return s + ',"QoS":' + (p.QoS ? 'true' : 'false') + ',"typeu":' + p.typeu + ',"sm":' + p.sm + '}';
}
