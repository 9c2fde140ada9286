import { describe, expect, it } from 'vitest';
import { FrameReader, FrameSizeError } from '../../../src/protocol/kafka/frame-reader.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function drain(r: FrameReader): Buffer[] {
  const out: Buffer[] = [];
  for (let f = r.next(); f !== null; f = r.next()) out.push(Buffer.from(f));
  return out;
}

describe('FrameReader', () => {
  const bodies = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(3000, 7), Buffer.from('x')];
  const stream = Buffer.concat(bodies.map(frame));

  it('splits frames packed into one chunk', () => {
    const r = new FrameReader(1 << 20);
    r.push(stream);
    expect(drain(r)).toEqual(bodies);
    expect(r.bufferedBytes).toBe(0);
  });

  it('reassembles frames arriving one byte at a time', () => {
    const r = new FrameReader(1 << 20);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      r.push(stream.subarray(i, i + 1));
      got.push(...drain(r));
    }
    expect(got).toEqual(bodies);
  });

  it('handles arbitrary chunk boundaries', () => {
    for (const step of [2, 3, 5, 7, 1000, 3001]) {
      const r = new FrameReader(1 << 20);
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) {
        r.push(stream.subarray(i, i + step));
        got.push(...drain(r));
      }
      expect(got).toEqual(bodies);
    }
  });

  it('hands out a view, not a copy, when a frame lies inside one chunk', () => {
    const r = new FrameReader(1 << 20);
    r.push(stream);
    const f = r.next()!;
    expect(f.buffer).toBe(stream.buffer);
  });

  it('refuses frames above the limit and negative sizes', () => {
    const big = new FrameReader(1024);
    big.push(Buffer.from([0, 0, 4, 1]));
    expect(() => big.next()).toThrow(FrameSizeError);
    const neg = new FrameReader(1024);
    neg.push(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    expect(() => neg.next()).toThrow(/negative/);
  });
});
