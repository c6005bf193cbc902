import { logColors, StderrLogger } from '../../sample-app/logger';

/** Runs `fn` with stderr captured. */
function stderrOf(fn: () => void): string {
  let out = '';
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('sample app logger', () => {
  it('writes no colour codes when stderr is not a terminal', () => {
    const logger = new StderrLogger({ colors: logColors({}, { isTTY: false }) });
    const out = stderrOf(() => logger.error('boom', undefined, 'Ctx'));
    expect(out).toContain('ERROR [Ctx] boom');
    expect(out).not.toContain('\u001b[');
  });

  it('colours a terminal, unless NO_COLOR says otherwise; FORCE_COLOR forces', () => {
    expect(logColors({}, { isTTY: true })).toBe(true);
    expect(logColors({ NO_COLOR: '1' }, { isTTY: true })).toBe(false);
    expect(logColors({ FORCE_COLOR: '1' }, { isTTY: false })).toBe(true);
    expect(logColors({ FORCE_COLOR: '0' }, { isTTY: false })).toBe(false);
    const out = stderrOf(() => new StderrLogger({ colors: logColors({}, { isTTY: true }) }).log('hi', 'Ctx'));
    expect(out).toContain('\u001b[');
  });
});
