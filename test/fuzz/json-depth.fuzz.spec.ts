import * as fc from 'fast-check';
import { jsonNestsDeeperThan } from '../../lib/protocol/json-depth';
import { anyUtf16, fuzzParams, jsonishText } from './fuzz-params';

/** Nesting depth of a parsed JSON value: 0 for a scalar, 1 for a flat array or object. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((max, c) => Math.max(max, depthOf(c)), 0);
}

/** Values nested up to `maxDepth`, with strings full of brackets, quotes and escapes that the scan must skip. */
const trickyString = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ', '\n', 'é'), maxLength: 12 });
const nested = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(trickyString, fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(trickyString, tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('fuzz: JSON nesting-depth pre-check (@IMJson)', () => {
  it('agrees with the depth of what JSON.parse builds, compact or pretty-printed', () => {
    fc.assert(
      fc.property(fc.oneof(nested, fc.jsonValue({ maxDepth: 6 })), fc.integer({ min: 0, max: 8 }), fc.boolean(), (value, maxDepth, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 1 : undefined);
        expect(jsonNestsDeeperThan(text, maxDepth)).toBe(depthOf(JSON.parse(text)) > maxDepth);
      }),
      fuzzParams(1000),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(anyUtf16(300), jsonishText(300)), fc.integer({ min: 0, max: 40 }), (text, maxDepth) => {
        expect(typeof jsonNestsDeeperThan(text, maxDepth)).toBe('boolean');
      }),
      fuzzParams(1000),
    );
  });
});
