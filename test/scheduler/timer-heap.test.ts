import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimerHeap } from '../../src/scheduler/timer-heap.js';

const FAKES = { toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] } as const;

afterEach(() => {
  vi.useRealTimers();
});

describe('TimerHeap', () => {
  it('fires entries in due order from a single armed timer, and not before they are due', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: [...FAKES.toFake] });
    const heap = new TimerHeap();
    const fired: [string, number][] = [];
    const entries = ['c', 'a', 'd', 'b'].map((name) => heap.createEntry((now) => fired.push([name, now])));
    heap.schedule(entries[0]!, 1_000_300);
    heap.schedule(entries[1]!, 1_000_100);
    heap.schedule(entries[2]!, 1_000_400);
    heap.schedule(entries[3]!, 1_000_200);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(fired).toEqual([['a', 1_000_100], ['b', 1_000_200]]);
    heap.remove(entries[2]!);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired.map(([n]) => n)).toEqual(['a', 'b', 'c']);
    expect(heap.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps ten thousand entries on one timer and pops them in order', async () => {
    vi.useFakeTimers({ now: 0, toFake: [...FAKES.toFake] });
    const heap = new TimerHeap();
    const seen: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const due = 1 + ((i * 7919) % 10_000);
      heap.schedule(heap.createEntry(() => seen.push(due)), due);
    }
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(seen.length).toBe(10_000);
    expect(seen.every((v, i) => i === 0 || seen[i - 1]! <= v)).toBe(true);
  });

  it('rescheduling an entry moves it rather than duplicating it', async () => {
    vi.useFakeTimers({ now: 0, toFake: [...FAKES.toFake] });
    const heap = new TimerHeap();
    let n = 0;
    const e = heap.createEntry(() => n++);
    heap.schedule(e, 100);
    heap.schedule(e, 50);
    heap.schedule(e, 200);
    await vi.advanceTimersByTimeAsync(500);
    expect(n).toBe(1);
  });

  it('does not keep the process alive when only unref-ed entries are waiting', async () => {
    const heap = new TimerHeap();
    const e = heap.createEntry(() => undefined, false);
    heap.schedule(e, Date.now() + 60_000);
    const timer = (heap as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(false);
    heap.setRef(e, true);
    expect(timer.hasRef()).toBe(true);
    heap.remove(e);
  });

  it('reports a wall-clock jump and still fires a slot the jump moved into the past', async () => {
    vi.useFakeTimers({ now: 0, toFake: [...FAKES.toFake] });
    const heap = new TimerHeap();
    const jumps: number[] = [];
    heap.onClockJump((j) => jumps.push(j.skewMs));
    let firedAt = -1;
    heap.schedule(heap.createEntry((now) => { firedAt = now; }), 3_600_000);
    // Someone sets the system clock forward by an hour: setTimeout (monotonic) knows nothing of it.
    vi.setSystemTime(3_600_500);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(firedAt).toBeGreaterThanOrEqual(3_600_000);
    expect(firedAt).toBeLessThan(3_600_000 + 6_000);
    expect(jumps.length).toBe(1);
    expect(jumps[0]).toBeGreaterThan(3_000_000);
  });

  it('fires within a few milliseconds of the due time on the real clock', async () => {
    const heap = new TimerHeap();
    const due = Date.now() + 120;
    const late = await new Promise<number>((resolve) => heap.schedule(heap.createEntry((now) => resolve(now - due)), due));
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(50);
  });
});
