import { until } from '../../lib/testing';

describe('until', () => {
  it('polls until the predicate holds and resolves with its value', async () => {
    let calls = 0;
    const value = await until(() => (++calls >= 4 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 4 });
  });

  it('awaits asynchronous predicates', async () => {
    let calls = 0;
    await expect(until(async () => ++calls === 3, { intervalMs: 1 })).resolves.toBe(true);
  });

  it('rejects with the condition named once the timeout passed', async () => {
    let calls = 0;
    const never = () => {
      calls++;
      return false;
    };
    await expect(until(never, { timeoutMs: 20, intervalMs: 5, message: 'the moon is blue' })).rejects.toThrow(
      'until: the moon is blue did not hold within 20 ms',
    );
    expect(calls).toBeGreaterThan(1);
  });

  it('rejects at once when the predicate throws', async () => {
    let calls = 0;
    const failing = () => {
      calls++;
      throw new Error('broken check');
    };
    await expect(until(failing, { timeoutMs: 60_000 })).rejects.toThrow('broken check');
    expect(calls).toBe(1);
  });
});
