import { describe, expect, it } from 'vitest';
import { UnackedWindow } from '../../../src/protocol/amqp/unacked.js';
import type { QueuedMessage } from '../../../src/protocol/amqp/message.js';
import type { Queue } from '../../../src/protocol/amqp/queue.js';

const queue = {} as Queue;
function entry(seq: number): QueuedMessage {
  return { seq } as QueuedMessage;
}

/** Takes with a visitor that records the seq of each entry taken. */
function seqs(take: (visit: (e: QueuedMessage) => void) => unknown): number[] {
  const out: number[] = [];
  take((e) => out.push(e.seq));
  return out;
}

describe('UnackedWindow', () => {
  it('takes single tags in any order and multiple ranges in tag order', () => {
    const w = new UnackedWindow();
    for (const t of [1, 2, 3, 5, 8, 9]) w.add(t, entry(t), queue, undefined);
    expect(w.size).toBe(6);
    expect(seqs((v) => w.take(5, v))).toEqual([5]);
    expect(w.has(5)).toBe(false);
    expect(w.take(5, () => undefined)).toBe(false);
    expect(w.take(4, () => undefined)).toBe(false);
    expect(seqs((v) => w.takeUpTo(8, v))).toEqual([1, 2, 3, 8]);
    expect(w.size).toBe(1);
    expect(w.has(9)).toBe(true);
    expect(w.takeUpTo(8, () => undefined)).toBe(0);
    expect(seqs((v) => w.takeUpTo(0, v))).toEqual([9]);
    expect(w.size).toBe(0);
    // Emptied, it starts over with later tags.
    w.add(10, entry(10), queue, undefined);
    expect(seqs((v) => w.takeUpTo(100, v))).toEqual([10]);
  });

  it('keeps the survivors, in order, when out-of-order acks leave most slots empty', () => {
    const w = new UnackedWindow();
    const kept: number[] = [];
    for (let t = 1; t <= 20_000; t++) {
      w.add(t, entry(t), queue, undefined);
      if (t % 2 === 1) continue;
      // Every hundredth delivery stays unacknowledged; the rest are acked in pairs, newest first.
      if (t % 100 === 0) kept.push(t);
      else expect(w.take(t, () => undefined)).toBe(true);
      expect(w.take(t - 1, () => undefined)).toBe(true);
    }
    expect(w.size).toBe(kept.length);
    const order: number[] = [];
    w.forEach((e) => order.push(e.seq));
    expect(order).toEqual(kept);
    for (const t of kept) expect(w.has(t)).toBe(true);
    expect(seqs((v) => w.takeUpTo(0, v))).toEqual(kept);
  });

  it('wraps around its ring and grows while a window of deliveries slides along', () => {
    const w = new UnackedWindow();
    let oldest = 1;
    for (let t = 1; t <= 1000; t++) {
      w.add(t, entry(t), queue, undefined);
      // The window widens to 40 outstanding, past the initial capacity, then slides.
      if (t > 40) {
        expect(seqs((v) => w.take(oldest, v))).toEqual([oldest]);
        oldest++;
      }
    }
    expect(w.size).toBe(40);
    expect(seqs((v) => w.takeUpTo(980, v))).toEqual(Array.from({ length: 20 }, (_, k) => 961 + k));
    expect(seqs((v) => w.takeUpTo(0, v))).toEqual(Array.from({ length: 20 }, (_, k) => 981 + k));
  });
});
