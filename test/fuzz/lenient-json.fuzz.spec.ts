import * as fc from 'fast-check';
import { parseLenientJson } from '../../lib/protocol/lenient-json';
import { decodePacket } from '../../lib/protocol/packet-codec';
import { anyUtf16, fuzzParams, jsonishText } from './fuzz-params';

/** Keys Gson reads unquoted: a literal that no LITERAL_END character cuts short. */
const BARE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Writes `v` the way sloppy clients do: single-quoted strings, unquoted keys where possible, random spacing. */
function toLenientText(v: unknown, space: string): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${space}${v.map((x) => toLenientText(x, space)).join(`,${space}`)}${space}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).map(([k, x]) => `${BARE_KEY.test(k) ? k : toLenientText(k, space)}${space}:${space}${toLenientText(x, space)}`);
    return `{${space}${entries.join(`,${space}`)}${space}}`;
  }
  return JSON.stringify(v);
}

/** The reader's nesting limit; deeper input is refused, not recursed into. */
const MAX_DEPTH = 32;
/** The largest text a client can send (a WebSocket message at the default limit). */
const MAX_TEXT = 65536;

/** Inputs built to make a naive reader recurse, backtrack or rescan: long runs of openers, quotes, escapes, separators. */
const adversarial = fc
  .tuple(
    fc.constantFrom('{', '[', '{a:', "{'a':", '{"a":[', "'", '"', "'\\", '\\', "\\'", ',', '[1,', 'a', ' ', ':', '{a:1,', 'u', '\\u00'),
    fc.integer({ min: 1, max: MAX_TEXT }),
    fc.constantFrom('', '}', ']', "'", '"', '1', 'x'),
  )
  .map(([unit, length, tail]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length) + tail);

/**
 * Far above what the linear reader needs for 64 KiB (about a millisecond) and
 * far below what a quadratic one needs (seconds), so a busy machine does not
 * make it flaky while a complexity regression still fails.
 */
const PARSE_BUDGET_MS = 1000;

describe('fuzz: lenient JSON reader', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(anyUtf16(300), jsonishText(300)), (text) => {
        parseLenientJson(text);
      }),
      fuzzParams(1000),
    );
  });

  it('agrees with JSON.parse on valid JSON, compact or pretty-printed', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(parseLenientJson(text)).toEqual(JSON.parse(text));
      }),
      fuzzParams(1000),
    );
  });

  it("reads the reference's sloppy forms (single quotes, bare keys) as the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.constantFrom('', ' ', '\n\t'), (value, space) => {
        const expected = JSON.parse(JSON.stringify(value)) as unknown;
        expect(parseLenientJson(toLenientText(expected, space))).toEqual(expected);
      }),
      fuzzParams(1000),
    );
  });

  it('refuses nesting beyond its limit instead of overflowing the stack', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_DEPTH + 2, max: 20_000 }), fc.constantFrom('[', '{a:', "{'a':"), (depth, opener) => {
        expect(parseLenientJson(opener.repeat(depth) + '1')).toBeUndefined();
      }),
      fuzzParams(200),
    );
  });

  it('answers adversarial 64 KiB input in bounded time, directly and through decodePacket', () => {
    fc.assert(
      fc.property(adversarial, (text) => {
        const t0 = performance.now();
        parseLenientJson(text);
        decodePacket(text);
        expect(performance.now() - t0).toBeLessThan(PARSE_BUDGET_MS);
      }),
      fuzzParams(200),
    );
  });
});
