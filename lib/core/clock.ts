/** A repeating timer created by a {@link Clock}. */
export interface ClockTimer {
  cancel(): void;
}

/**
 * Time source for every server timer (idle timeouts, QoS retransmission).
 * Injected so tests can drive time by hand (see `ManualClock` in `nestjs-im/testing`).
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until cancelled. */
  every(ms: number, fn: () => void): ClockTimer;
}

/** The real clock; its timers do not keep the process alive. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  every(ms: number, fn: () => void): ClockTimer {
    const handle = setInterval(fn, ms);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  }
}
