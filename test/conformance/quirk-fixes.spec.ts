/**
 * Pure checks of quirk-fixes.ts against the recorded scenario files: every
 * quirk scenario has exactly one decision, fixed steps are valid scenarios,
 * and each fixed copy starts as the recording does.
 */
import { effectiveScenario, QUIRK_FIXES } from './quirk-fixes';
import { loadScenarios, Scenario, Step, validateScenario } from './scenario-runner';
import { SCENARIO_DIR } from './scenario-dir';

const scenarios: Scenario[] = loadScenarios(SCENARIO_DIR);
const quirkScenarios = scenarios.filter((s) => s.tags.includes('quirk'));

function strip(step: Step): Record<string, unknown> {
  const { observed: _o, observedBytes: _b, observedMs: _m, observedWsClose: _w, comment: _c, ...rest } = step;
  return rest;
}

describe('quirk-fixes', () => {
  it('has exactly one entry per quirk scenario, and none for other scenarios', () => {
    expect(quirkScenarios.length).toBeGreaterThan(0);
    expect(Object.keys(QUIRK_FIXES).sort()).toEqual(quirkScenarios.map((s) => s.name).sort());
  });

  it('leaves non-quirk scenarios unchanged', () => {
    for (const s of scenarios.filter((x) => !x.tags.includes('quirk'))) {
      const e = effectiveScenario(s);
      expect(e.mode).toBe('core');
      expect(e.scenario).toBe(s);
    }
  });

  it('throws for a quirk scenario without a decision', () => {
    expect(() => effectiveScenario({ name: 'quirk-unknown', tags: ['quirk'], steps: [] })).toThrow(/no entry/);
  });

  describe.each(quirkScenarios.map((s) => [s.name, s] as const))('%s', (_name, original) => {
    const fix = QUIRK_FIXES[original.name];

    it('has quirk ids and a reason', () => {
      expect(fix.quirks.length).toBeGreaterThan(0);
      for (const q of fix.quirks) expect(q).toMatch(/^QUIRK-\d+$/);
      expect(fix.reason.length).toBeGreaterThan(40);
    });

    if (fix.mode === 'fixed') {
      it('fixed steps form a valid scenario', () => {
        expect(validateScenario({ ...original, steps: fix.steps })).toEqual([]);
      });

      it('fixed steps follow the recording up to the first changed (commented) step', () => {
        const firstChanged = fix.steps.findIndex((s) => s.comment !== undefined);
        expect(firstChanged).toBeGreaterThan(0);
        expect(fix.steps.slice(0, firstChanged).map(strip)).toEqual(original.steps.slice(0, firstChanged).map(strip));
      });

      it('uses the same client transports as the recording', () => {
        const transports = (steps: Step[]) =>
          Object.fromEntries(steps.flatMap((s) => (s.action === 'connect' ? [[s.client, s.transport]] : [])));
        expect(transports(fix.steps)).toEqual(transports(original.steps));
      });
    }
  });
});
