// A few runs on the real clock: slots land on whole seconds, close to due time, on one shared timer.
import { describe, expect, it } from 'vitest';
import cron from '../../src/cron.js';
import { sharedTimerHeap } from '../../src/scheduler/timer-heap.js';

describe('railyard/cron on the real clock', () => {
  it('fires 20 every-second tasks each second within a loose tolerance, all from one heap', async () => {
    const lateness: number[] = [];
    const tasks = Array.from({ length: 20 }, () => cron.schedule('* * * * * *', (ctx) => {
      lateness.push(Date.now() - ctx.date.getTime());
    }));
    expect(sharedTimerHeap().size).toBeGreaterThanOrEqual(20);
    await new Promise((r) => setTimeout(r, 2_300));
    for (const t of tasks) t.destroy();
    expect(lateness.length).toBeGreaterThanOrEqual(40);
    // Tolerance for a shared 2-core machine; bench/cron measures precision properly.
    for (const l of lateness) {
      expect(l).toBeGreaterThanOrEqual(0);
      expect(l).toBeLessThan(250);
    }
  });
});
