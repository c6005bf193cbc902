import * as fc from 'fast-check';

/**
 * fast-check parameters shared by the fuzz suites. `npm test` runs `base`
 * runs per property; `npm run fuzz` sets FUZZ_RUNS (20,000 by default) to
 * search much longer. A failure prints its seed and path: replay it with
 * FUZZ_SEED=<seed> FUZZ_PATH=<path> npx jest test/fuzz/<file>.
 */
export function fuzzParams<T>(base: number): fc.Parameters<T> {
  const runs = Number(process.env.FUZZ_RUNS);
  const seed = process.env.FUZZ_SEED;
  return {
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : base,
    ...(seed !== undefined && seed !== '' ? { seed: Number(seed), path: process.env.FUZZ_PATH } : {}),
  };
}

/** Any UTF-16 string, lone surrogates included. */
export const anyUtf16 = (maxLength = 200): fc.Arbitrary<string> =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });

/** Any string of full code points, plus the characters JSON treats specially, so structure appears often. */
export const jsonishText = (maxLength = 200): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('{', '}', '[', ']', '"', "'", ':', ',', '\\', ' ', 'u', '0', '1', '-', '.', 'e', 'true', 'null', 'type', 'fp') },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    ),
    maxLength,
  });
