import { TimerWheel } from '../../lib/core/timer-wheel';

interface Fired {
  item: string;
  now: number;
}

function makeWheel(resolutionMs = 100, startMs = 0) {
  const fired: Fired[] = [];
  const wheel = new TimerWheel<string>(resolutionMs, startMs, (item, now) => fired.push({ item, now }));
  const names = () => fired.map((f) => f.item);
  return { wheel, fired, names };
}

describe('TimerWheel', () => {
  it('does not fire an item before its deadline', () => {
    const { wheel, names } = makeWheel(100, 0);
    wheel.schedule('a', 1000);
    for (let t = 0; t < 1000; t += 7) {
      wheel.advance(t);
      expect(names()).toEqual([]);
    }
    wheel.advance(999);
    expect(names()).toEqual([]);
  });

  it('fires an item exactly at a deadline on a bucket boundary', () => {
    const { wheel, fired } = makeWheel(100, 0);
    wheel.schedule('a', 1000);
    wheel.advance(1000);
    expect(fired).toEqual([{ item: 'a', now: 1000 }]);
  });

  it('fires an off-boundary deadline at the next boundary, within one resolution', () => {
    const { wheel, names } = makeWheel(100, 0);
    wheel.schedule('a', 1050);
    wheel.advance(1050);
    wheel.advance(1099);
    expect(names()).toEqual([]);
    wheel.advance(1100);
    expect(names()).toEqual(['a']);
  });

  it('fires every item at or after its deadline, never before (random deadlines, fine steps)', () => {
    const fired: Array<{ deadline: number; now: number }> = [];
    const wheel = new TimerWheel<number>(100, 0, (deadline, now) => fired.push({ deadline, now }));
    let seed = 7;
    const deadlines: number[] = [];
    for (let i = 0; i < 200; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const d = 1 + (seed % 5000);
      deadlines.push(d);
      wheel.schedule(d, d);
    }
    for (let t = 0; t <= 5200; t += 13) wheel.advance(t);
    expect(fired).toHaveLength(200);
    for (const f of fired) {
      expect(f.now).toBeGreaterThanOrEqual(f.deadline);
      expect(f.now - f.deadline).toBeLessThan(100 + 13);
    }
    expect(wheel.size).toBe(0);
  });

  it('fires in deadline order across buckets in one advance', () => {
    const { wheel, names } = makeWheel(100, 0);
    wheel.schedule('c', 900);
    wheel.schedule('a', 150);
    wheel.schedule('b', 420);
    wheel.advance(1000);
    expect(names()).toEqual(['a', 'b', 'c']);
  });

  it('fires items of one bucket in scheduling order', () => {
    const { wheel, names } = makeWheel(100, 0);
    wheel.schedule('x', 310);
    wheel.schedule('y', 301);
    wheel.schedule('z', 399);
    wheel.advance(400);
    expect(names()).toEqual(['x', 'y', 'z']);
  });

  it('passes the advance time, not the deadline, to the callback', () => {
    const { wheel, fired } = makeWheel(100, 0);
    wheel.schedule('a', 200);
    wheel.advance(750);
    expect(fired).toEqual([{ item: 'a', now: 750 }]);
  });

  it('fires each item only once', () => {
    const { wheel, names } = makeWheel(100, 0);
    wheel.schedule('a', 200);
    wheel.advance(300);
    wheel.advance(400);
    wheel.advance(100000);
    expect(names()).toEqual(['a']);
  });

  it('ignores an advance that goes backwards or stays in the same bucket', () => {
    const { wheel, names } = makeWheel(100, 1000);
    wheel.schedule('a', 1200);
    wheel.advance(500);
    wheel.advance(1000);
    wheel.advance(1199);
    expect(names()).toEqual([]);
    wheel.advance(1200);
    expect(names()).toEqual(['a']);
  });

  it('tracks size, including items the callback will ignore', () => {
    const { wheel } = makeWheel(100, 0);
    expect(wheel.size).toBe(0);
    wheel.schedule('a', 100);
    wheel.schedule('b', 100);
    wheel.schedule('c', 500);
    expect(wheel.size).toBe(3);
    wheel.advance(100);
    expect(wheel.size).toBe(1);
    wheel.advance(500);
    expect(wheel.size).toBe(0);
  });

  describe('long jumps (sparse path)', () => {
    it('fires due items in order after a jump of many buckets', () => {
      const { wheel, fired } = makeWheel(100, 0);
      wheel.schedule('late', 9_000_000);
      wheel.schedule('b', 50_000);
      wheel.schedule('a', 300);
      wheel.schedule('c', 1_000_000);
      wheel.advance(2_000_000);
      expect(fired).toEqual([
        { item: 'a', now: 2_000_000 },
        { item: 'b', now: 2_000_000 },
        { item: 'c', now: 2_000_000 },
      ]);
      expect(wheel.size).toBe(1);
    });

    it('does not fire items beyond the jump target, and fires them later on time', () => {
      const { wheel, names } = makeWheel(100, 0);
      wheel.schedule('a', 1_000_000);
      wheel.schedule('b', 1_000_050);
      wheel.advance(999_999);
      expect(names()).toEqual([]);
      wheel.advance(1_000_000);
      expect(names()).toEqual(['a']);
      wheel.advance(1_000_099);
      expect(names()).toEqual(['a']);
      wheel.advance(1_000_100);
      expect(names()).toEqual(['a', 'b']);
    });

    it('keeps working normally after a jump (cursor moved to the target)', () => {
      const { wheel, names } = makeWheel(100, 0);
      wheel.advance(10_000_000);
      wheel.schedule('a', 10_000_200);
      wheel.advance(10_000_100);
      expect(names()).toEqual([]);
      wheel.advance(10_000_200);
      expect(names()).toEqual(['a']);
    });

    it('is fast for a huge jump with few items', () => {
      const { wheel, names } = makeWheel(1, 0);
      wheel.schedule('a', 5);
      const t0 = Date.now();
      wheel.advance(Number.MAX_SAFE_INTEGER - 1);
      expect(Date.now() - t0).toBeLessThan(500);
      expect(names()).toEqual(['a']);
    });

    it('gives the same order on the dense and the sparse path', () => {
      const deadlines = [950, 120, 480, 480, 2600, 10, 3999, 3001];
      const run = (step: number) => {
        const { wheel, names } = makeWheel(10, 0);
        deadlines.forEach((d, i) => wheel.schedule(`${d}#${i}`, d));
        for (let t = step; t <= 4000; t += step) wheel.advance(t);
        wheel.advance(4000);
        return names();
      };
      const dense = run(10); // one bucket per advance
      const sparse = run(4000); // 400 buckets at once with 8 items: the sparse path
      expect(sparse).toEqual(dense);
      expect(dense.map((n) => Number(n.split('#')[0]))).toEqual([...deadlines].sort((a, b) => a - b));
    });
  });

  describe('scheduling in the past', () => {
    it('fires an item scheduled in the past on the next advance into a new bucket', () => {
      const { wheel, names } = makeWheel(100, 0);
      wheel.advance(1000);
      wheel.schedule('past', 500);
      wheel.schedule('now', 1000);
      expect(names()).toEqual([]);
      wheel.advance(1100);
      expect(names()).toEqual(['past', 'now']);
    });

    it('fires an item scheduled before the start time on the first advance', () => {
      const { wheel, names } = makeWheel(100, 5000);
      wheel.schedule('old', 0);
      wheel.advance(5100);
      expect(names()).toEqual(['old']);
    });

    it('lets the callback reschedule into a later bucket without firing it in the same advance', () => {
      const fired: Array<[string, number]> = [];
      const wheel: TimerWheel<string> = new TimerWheel<string>(100, 0, (item, now) => {
        fired.push([item, now]);
        if (fired.length < 3) wheel.schedule(item, now + 1000);
      });
      wheel.schedule('r', 500);
      wheel.advance(500);
      wheel.advance(1400);
      expect(fired).toEqual([['r', 500]]);
      wheel.advance(1500);
      wheel.advance(2500);
      expect(fired).toEqual([
        ['r', 500],
        ['r', 1500],
        ['r', 2500],
      ]);
      wheel.advance(100_000);
      expect(fired).toHaveLength(3);
    });
  });

  describe('clear()', () => {
    it('drops every item so none fires', () => {
      const { wheel, names } = makeWheel(100, 0);
      wheel.schedule('a', 100);
      wheel.schedule('b', 10_000);
      wheel.clear();
      expect(wheel.size).toBe(0);
      wheel.advance(1_000_000);
      expect(names()).toEqual([]);
    });

    it('accepts new items after clearing', () => {
      const { wheel, names } = makeWheel(100, 0);
      wheel.schedule('a', 100);
      wheel.clear();
      wheel.schedule('b', 200);
      expect(wheel.size).toBe(1);
      wheel.advance(200);
      expect(names()).toEqual(['b']);
    });
  });

  it('works with a non-zero, non-aligned start time', () => {
    const { wheel, names } = makeWheel(250, 1_700_000_000_123);
    wheel.schedule('a', 1_700_000_000_123 + 1000);
    wheel.advance(1_700_000_000_123 + 999);
    expect(names()).toEqual([]);
    wheel.advance(1_700_000_000_123 + 1000 + 249);
    expect(names()).toEqual(['a']);
  });
});
