/** Options of {@link until}. */
export interface UntilOptions {
  /** Overall limit before rejecting (default 5000 ms: generous, since a busy machine is slow). */
  timeoutMs?: number;
  /** Pause between two checks (default 10 ms). */
  intervalMs?: number;
  /** Names the condition in the timeout error. */
  message?: string;
}

/**
 * Polls `predicate` until it returns a truthy value and resolves with that
 * value; rejects once `timeoutMs` of real time passed without it. Tests wait
 * for conditions with it instead of sleeping a fixed time:
 * `await until(() => handlers.delivered.length === 6)`. An exception thrown
 * by `predicate` rejects at once (a failed check is not "not yet").
 * It runs on real time even when the app uses a `ManualClock`.
 */
export async function until<T>(predicate: () => T | Promise<T>, options: UntilOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) {
      throw new Error(`until: ${options.message ?? predicate.toString()} did not hold within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
