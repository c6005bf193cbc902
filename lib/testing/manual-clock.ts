import { Clock, ClockTimer } from '../core/clock';

interface ManualTimer {
  every: number;
  next: number;
  fn: () => void;
  live: boolean;
}

/**
 * A clock that moves only when told, so tests of retransmission and idle
 * timeouts run in milliseconds: `clock.advance(5000)` fires every timer due.
 */
export class ManualClock implements Clock {
  private timers: ManualTimer[] = [];

  constructor(private current = Date.now()) {}

  now(): number {
    return this.current;
  }

  every(ms: number, fn: () => void): ClockTimer {
    if (!(ms > 0)) throw new RangeError(`timer period must be positive, got ${ms}`);
    const timer: ManualTimer = { every: ms, next: this.current + ms, fn, live: true };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.current = due.next;
      due.next += due.every;
      due.fn();
    }
    this.current = end;
  }
}
