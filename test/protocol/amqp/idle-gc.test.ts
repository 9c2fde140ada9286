import { describe, expect, it } from 'vitest';
import { IdleGc, obtainGc, oldGenerationBytes } from '../../../src/protocol/amqp/idle-gc.js';

const MB = 1024 * 1024;

/** An IdleGc driven tick by tick over a heap whose size the test sets; collecting drops it to `live`. */
function harness(growthBytes = 16 * MB) {
  const heap = { used: 10 * MB, live: 10 * MB };
  let collections = 0;
  const gc = new IdleGc({
    timer: false,
    growthBytes,
    measure: () => heap.used,
    collect: () => {
      collections++;
      heap.used = heap.live;
    },
  });
  return { gc, heap, collections: () => collections };
}

describe('idle GC decision', () => {
  it('never collects while reads keep arriving, however much the heap grew', () => {
    const { gc, heap, collections } = harness();
    heap.used = 200 * MB;
    for (let i = 0; i < 100; i++) {
      gc.active = true;
      expect(gc.tick()).toBe(false);
    }
    expect(collections()).toBe(0);
  });

  it('collects once after two quiet ticks, only with enough growth since the last collection', () => {
    const { gc, heap, collections } = harness();
    heap.used = 60 * MB;
    gc.active = true;
    gc.tick(); // traffic seen, flag cleared
    expect(gc.tick()).toBe(false); // one quiet tick: not idle yet
    expect(gc.tick()).toBe(true); // idle for two ticks: collect
    expect(collections()).toBe(1);
    expect(heap.used).toBe(10 * MB);
  });

  it('does not collect on a broker that stays idle, or that grew less than the threshold', () => {
    const { gc, heap, collections } = harness();
    heap.used = 20 * MB; // +10 MB < 16 MB
    for (let i = 0; i < 50; i++) gc.tick();
    expect(collections()).toBe(0);
    // Grows while idle (no reads, e.g. management traffic): decided once per quiet spell, not re-read each tick.
    heap.used = 100 * MB;
    for (let i = 0; i < 50; i++) gc.tick();
    expect(collections()).toBe(0);
  });

  it('runs once per busy-then-quiet spell, not repeatedly while idle', () => {
    const { gc, heap, collections } = harness();
    heap.used = 60 * MB;
    gc.active = true;
    for (let i = 0; i < 20; i++) gc.tick();
    expect(collections()).toBe(1);
    // Next spell of traffic without growth: nothing to collect.
    gc.active = true;
    for (let i = 0; i < 20; i++) gc.tick();
    expect(collections()).toBe(1);
    // Growth again from the post-collection baseline: one more.
    heap.used = 30 * MB;
    gc.active = true;
    for (let i = 0; i < 20; i++) gc.tick();
    expect(collections()).toBe(2);
    expect(gc.runs).toBe(2);
  });

  it("counts growth from what V8's own collections left", () => {
    const { gc, heap, collections } = harness();
    heap.used = 60 * MB;
    gc.active = true;
    gc.tick();
    heap.used = 8 * MB; // V8 collected by itself during traffic
    gc.tick();
    gc.tick(); // idle: 8 MB is the new baseline, no growth
    expect(collections()).toBe(0);
    heap.used = 20 * MB; // +12 MB from 8
    gc.active = true;
    for (let i = 0; i < 5; i++) gc.tick();
    expect(collections()).toBe(0);
    heap.used = 30 * MB; // +22 MB from 8
    gc.active = true;
    for (let i = 0; i < 5; i++) gc.tick();
    expect(collections()).toBe(1);
  });

  it('with its timer, frees real garbage once the reads stop', async () => {
    const gc = new IdleGc({ idleMs: 20, growthBytes: 8 * MB });
    try {
      // Promoted garbage: arrays kept across scavenges, then dropped.
      const start = oldGenerationBytes();
      let keep: number[][] | undefined = [];
      for (let i = 0; i < 400_000; i++) keep.push([i, i + 1, i + 2]);
      const before = oldGenerationBytes();
      expect(before - start).toBeGreaterThan(8 * MB);
      keep = undefined;
      expect(keep).toBeUndefined();
      // Reads every 5 ms: busy, no collection.
      const busyUntil = Date.now() + 100;
      while (Date.now() < busyUntil) {
        gc.active = true;
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(gc.runs).toBe(0);
      // Quiet: one collection within a few ticks, and the garbage is gone.
      await new Promise((r) => setTimeout(r, 150));
      expect(gc.runs).toBe(1);
      expect(oldGenerationBytes()).toBeLessThan(before - 8 * MB);
      // Still quiet: no further collections.
      await new Promise((r) => setTimeout(r, 150));
      expect(gc.runs).toBe(1);
    } finally {
      gc.stop();
    }
  });

  it('obtains a gc function without --expose-gc', () => {
    const fn = obtainGc();
    expect(typeof fn).toBe('function');
  });
});
