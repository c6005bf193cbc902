import { ManualClock } from '../../lib/testing/manual-clock';

describe('ManualClock', () => {
  it('starts at the given time and moves only on advance', () => {
    const clock = new ManualClock(1000);
    expect(clock.now()).toBe(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
    clock.advance(0);
    expect(clock.now()).toBe(1250);
  });

  it('defaults to the current wall-clock time', () => {
    const before = Date.now();
    const clock = new ManualClock();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.now()).toBeLessThanOrEqual(Date.now());
  });

  it('fires an every() timer each period, not before', () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    clock.every(1000, () => at.push(clock.now()));
    clock.advance(999);
    expect(at).toEqual([]);
    clock.advance(1);
    expect(at).toEqual([1000]);
    clock.advance(2500);
    expect(at).toEqual([1000, 2000, 3000]);
    expect(clock.now()).toBe(3500);
  });

  it('counts the first period from the time every() was called', () => {
    const clock = new ManualClock(0);
    clock.advance(300);
    const at: number[] = [];
    clock.every(1000, () => at.push(clock.now()));
    clock.advance(1000);
    expect(at).toEqual([1300]);
  });

  it('sets now() to each due time while firing, then to the end of the advance', () => {
    const clock = new ManualClock(10_000);
    const at: number[] = [];
    clock.every(300, () => at.push(clock.now()));
    clock.advance(1000);
    expect(at).toEqual([10_300, 10_600, 10_900]);
    expect(clock.now()).toBe(11_000);
  });

  it('fires several timers in time order, interleaved', () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    clock.every(300, () => log.push(`a@${clock.now()}`));
    clock.every(200, () => log.push(`b@${clock.now()}`));
    clock.advance(700);
    expect(log).toEqual(['b@200', 'a@300', 'b@400', 'a@600', 'b@600']);
  });

  it('fires timers due at the same instant in creation order', () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    clock.every(100, () => log.push('first'));
    clock.every(50, () => log.push('second'));
    clock.every(100, () => log.push('third'));
    clock.advance(100);
    expect(log).toEqual(['second', 'first', 'second', 'third']);
  });

  it('fires the same timers whether time moves in one step or many', () => {
    const run = (steps: number[]) => {
      const clock = new ManualClock(0);
      const log: string[] = [];
      clock.every(70, () => log.push(`x${clock.now()}`));
      clock.every(110, () => log.push(`y${clock.now()}`));
      for (const s of steps) clock.advance(s);
      return log;
    };
    const oneStep = run([1000]);
    expect(run(Array(100).fill(10))).toEqual(oneStep);
    expect(run([1, 69, 1, 500, 429])).toEqual(oneStep);
  });

  it('cancel stops a timer', () => {
    const clock = new ManualClock(0);
    let n = 0;
    const t = clock.every(100, () => n++);
    clock.advance(250);
    expect(n).toBe(2);
    t.cancel();
    clock.advance(1000);
    expect(n).toBe(2);
  });

  it('cancel is idempotent and does not affect other timers', () => {
    const clock = new ManualClock(0);
    let a = 0;
    let b = 0;
    const ta = clock.every(100, () => a++);
    clock.every(100, () => b++);
    ta.cancel();
    ta.cancel();
    clock.advance(300);
    expect(a).toBe(0);
    expect(b).toBe(3);
  });

  it('a timer can cancel itself from its callback', () => {
    const clock = new ManualClock(0);
    let n = 0;
    const t = clock.every(100, () => {
      n++;
      if (n === 2) t.cancel();
    });
    clock.advance(1000);
    expect(n).toBe(2);
  });

  it('a callback can cancel another timer due later in the same advance', () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    const late = clock.every(200, () => log.push('late'));
    clock.every(100, () => {
      log.push('early');
      late.cancel();
    });
    clock.advance(1000);
    expect(log).toEqual(Array(10).fill('early'));
  });

  it('a callback can cancel another timer due at the same instant', () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    let second: { cancel(): void } | undefined;
    clock.every(100, () => {
      log.push('first');
      second?.cancel();
    });
    second = clock.every(100, () => log.push('second'));
    clock.advance(100);
    expect(log).toEqual(['first']);
  });

  it('a timer created in a callback starts from the callback time and can fire in the same advance', () => {
    const clock = new ManualClock(0);
    const log: string[] = [];
    let made = false;
    clock.every(100, () => {
      log.push(`outer@${clock.now()}`);
      if (!made) {
        made = true;
        clock.every(150, () => log.push(`inner@${clock.now()}`));
      }
    });
    clock.advance(400);
    expect(log).toEqual(['outer@100', 'outer@200', 'inner@250', 'outer@300', 'outer@400', 'inner@400']);
  });

  it('advance() called from a callback does not break the outer advance', () => {
    const clock = new ManualClock(0);
    const log: number[] = [];
    let nested = false;
    clock.every(100, () => {
      log.push(clock.now());
      if (!nested) {
        nested = true;
        clock.advance(50); // nested: moves to 150, fires nothing
      }
    });
    clock.advance(300);
    expect(log).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(300);
  });
});
