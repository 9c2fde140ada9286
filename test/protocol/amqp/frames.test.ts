import { describe, expect, it } from 'vitest';
import { FrameParser } from '../../../src/protocol/amqp/frames.js';
import { AmqpError } from '../../../src/protocol/amqp/errors.js';

function frame(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(1, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = 0xce;
  return b;
}

describe('FrameParser', () => {
  // A frame split across reads takes a separate path from frames whole in one read; every split point
  // (inside the header, inside the payload, on the frame-end octet) must give the same frames.
  it('yields the same frames whatever the read boundaries', () => {
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc((i * 37) % 300, i));
    const stream = Buffer.concat(payloads.map((p) => frame(3, p)));
    for (let step = 1; step <= 400; step++) {
      const parser = new FrameParser(0);
      const got: Buffer[] = [];
      // The range handed to the sink is only valid during the call: copy, as the connection does.
      const sink = { onFrame: (_t: number, _c: number, buf: Buffer, start: number, end: number) => got.push(Buffer.from(buf.subarray(start, end))) };
      for (let off = 0; off < stream.length; off += step) parser.push(stream.subarray(off, off + step), sink);
      expect(got).toEqual(payloads);
    }
  });

  it('rejects an oversized frame as soon as its split header is complete', () => {
    const parser = new FrameParser(4096);
    const big = frame(3, Buffer.alloc(5000));
    const sink = { onFrame: () => undefined };
    parser.push(big.subarray(0, 3), sink);
    expect(() => parser.push(big.subarray(3, 10), sink)).toThrow(AmqpError);
  });
});
