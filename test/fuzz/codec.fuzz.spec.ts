import * as fc from 'fast-check';
import { Packet } from '../../lib/protocol/packet';
import { decodePacket, DecodeResult, encodePacket, packetFromObject } from '../../lib/protocol/packet-codec';
import { anyUtf16, fuzzParams, jsonishText } from './fuzz-params';

/** A successful decode must be a packet whose fields have the model's types. */
function expectWellTyped(r: DecodeResult): void {
  if (!r.ok) {
    expect(typeof r.error.id).toBe('string');
    return;
  }
  const p = r.packet;
  for (const k of ['type', 'typeu'] as const) {
    expect(Number.isInteger(p[k]) && p[k] >= -(2 ** 31) && p[k] < 2 ** 31).toBe(true);
  }
  expect(Number.isInteger(p.sm)).toBe(true);
  expect(typeof p.bridge).toBe('boolean');
  expect(typeof p.QoS).toBe('boolean');
  for (const k of ['dataContent', 'from', 'to', 'fp'] as const) {
    expect(p[k] === undefined || typeof p[k] === 'string').toBe(true);
  }
}

/** Values of every JSON type, to put where the packet expects one type. */
const anyField = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('true', 'TRUE', '12', ' -3 ', '1.0', '1e3', '0x10', ''),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

const KEYS = ['bridge', 'type', 'dataContent', 'from', 'to', 'fp', 'QoS', 'typeu', 'sm'] as const;

/** Objects shaped like a packet whose fields may hold any type, plus stray keys. */
const packetShaped = fc
  .tuple(fc.record(Object.fromEntries(KEYS.map((k) => [k, anyField])) as Record<(typeof KEYS)[number], fc.Arbitrary<unknown>>, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 8 }), anyField, { maxKeys: 3 }))
  .map(([fields, extra]) => ({ ...extra, ...fields }) as Record<string, unknown>);

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const optionalText = fc.option(anyUtf16(80), { nil: undefined });

/** Packets the model allows: what the server may build and send. */
const validPacket: fc.Arbitrary<Packet> = fc.record({
  bridge: fc.boolean(),
  type: int32,
  dataContent: optionalText,
  from: optionalText,
  to: optionalText,
  fp: optionalText,
  QoS: fc.boolean(),
  typeu: int32,
  sm: fc.oneof(fc.constant(-1), fc.maxSafeInteger()),
});

describe('fuzz: packet codec', () => {
  it('decodePacket never throws on arbitrary text, strict or lenient', () => {
    fc.assert(
      fc.property(fc.oneof(anyUtf16(300), jsonishText(300)), fc.boolean(), (text, lenient) => {
        expectWellTyped(decodePacket(text, { lenient }));
      }),
      fuzzParams(1000),
    );
  });

  it('decodePacket never throws on any JSON value, and accepts only objects', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const r = decodePacket(JSON.stringify(value));
        expectWellTyped(r);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) expect(r.ok).toBe(false);
      }),
      fuzzParams(1000),
    );
  });

  it('packet-shaped objects with wrong field types are refused or coerced, never thrown on', () => {
    fc.assert(
      fc.property(packetShaped, (o) => {
        const direct = packetFromObject(o);
        expectWellTyped(direct);
        const objectInString = ['dataContent', 'from', 'to', 'fp'].some((k) => typeof o[k] === 'object' && o[k] !== null);
        if (objectInString) expect(direct.ok).toBe(false);
        // The same object through the text path: JSON drops undefined and turns NaN/Infinity into null.
        expectWellTyped(decodePacket(JSON.stringify(o)));
      }),
      fuzzParams(1000),
    );
  });

  it('decode(encode(p)) gives p back for every valid packet', () => {
    fc.assert(
      fc.property(validPacket, fc.boolean(), (p, lenient) => {
        const r = decodePacket(encodePacket(p), { lenient });
        expect(r).toEqual({ ok: true, packet: p });
      }),
      fuzzParams(1000),
    );
  });

  it('encodePacket always writes one strict JSON object', () => {
    fc.assert(
      fc.property(validPacket, (p) => {
        const o = JSON.parse(encodePacket(p)) as unknown;
        expect(typeof o === 'object' && o !== null && !Array.isArray(o)).toBe(true);
      }),
      fuzzParams(1000),
    );
  });
});
