import { describe, expect, it } from 'vitest';
import { ReadyLane } from '../../../src/protocol/amqp/ready-lane.js';

const msg = (seq: number) => ({ seq });

describe('ReadyLane', () => {
  it('is first in, first out across ring wrap-around, growth and shrinking', () => {
    const lane = new ReadyLane<{ seq: number }>();
    let next = 0;
    let expect0 = 0;
    // Alternating bursts fill the ring past several doublings and drain it below a quarter, with
    // the head anywhere in the ring when it is resized.
    for (const [put, take] of [[10, 7], [40, 5], [300, 200], [5, 140], [1000, 1003], [3, 3]] as const) {
      for (let i = 0; i < put; i++) lane.push(msg(next++));
      for (let i = 0; i < take; i++) expect(lane.shift()?.seq).toBe(expect0++);
      expect(lane.size).toBe(next - expect0);
    }
    expect(lane.shift()).toBeUndefined();
    expect(lane.peek()).toBeUndefined();
  });

  it('hands a requeued message out before every fresh message published after it', () => {
    const lane = new ReadyLane<{ seq: number }>();
    for (let s = 0; s < 6; s++) lane.push(msg(s));
    const taken = [lane.shift()!, lane.shift()!, lane.shift()!];
    lane.putBack(taken[2]!);
    lane.putBack(taken[0]!);
    expect(lane.peek()?.seq).toBe(0);
    expect(lane.size).toBe(5);
    expect(lane.count((e) => e.seq % 2 === 0)).toBe(3);
    expect([lane.shift(), lane.shift(), lane.shift()].map((e) => e?.seq)).toEqual([0, 2, 3]);
  });

  it('clear returns fresh messages in order, then requeued ones, and leaves the lane usable', () => {
    const lane = new ReadyLane<{ seq: number }>();
    for (let s = 0; s < 20; s++) lane.push(msg(s));
    for (let i = 0; i < 18; i++) lane.shift();
    for (let s = 20; s < 25; s++) lane.push(msg(s));
    lane.putBack(msg(5));
    expect(lane.clear().map((e) => e.seq)).toEqual([18, 19, 20, 21, 22, 23, 24, 5]);
    expect(lane.size).toBe(0);
    lane.push(msg(30));
    expect(lane.shift()?.seq).toBe(30);
  });
});
