import { FRAME_END, FRAME_ERROR, FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT } from './generated/constants.js';
import { AmqpError } from './errors.js';

export const FRAME_HEADER_SIZE = 7;
/** Header plus frame-end octet: what a frame costs beyond its payload. */
export const FRAME_OVERHEAD = 8;

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

/**
 * Splits a byte stream into frames. Frames are views into the read chunk; only a frame split
 * across reads is copied.
 */
export class FrameParser {
  private pending: Buffer | null = null;
  /** Largest frame accepted, including the 8 bytes of overhead; 0 = no limit announced yet. */
  frameMax: number;

  constructor(frameMax: number) {
    this.frameMax = frameMax;
  }

  /** Calls `onFrame` for each complete frame; throws AmqpError 501 on a malformed one. */
  push(chunk: Buffer, onFrame: (f: Frame) => void): void {
    let pos = 0;
    if (this.pending !== null) {
      // Complete only the one frame split across reads: gluing the whole new chunk onto it
      // copied every received byte a second time under load.
      let head = this.pending;
      this.pending = null;
      if (head.length < FRAME_HEADER_SIZE) {
        pos = Math.min(FRAME_HEADER_SIZE - head.length, chunk.length);
        head = Buffer.concat([head, chunk.subarray(0, pos)]);
        if (head.length < FRAME_HEADER_SIZE) {
          this.pending = head;
          return;
        }
      }
      this.check(head, 0);
      const total = head.readUInt32BE(3) + FRAME_OVERHEAD;
      const n = Math.min(total - head.length, chunk.length - pos);
      if (n > 0) {
        head = Buffer.concat([head, chunk.subarray(pos, pos + n)]);
        pos += n;
      }
      if (head.length < total) {
        this.pending = head;
        return;
      }
      this.scan(head, 0, onFrame);
    }
    const end = this.scan(chunk, pos, onFrame);
    if (end < chunk.length) this.pending = Buffer.from(chunk.subarray(end));
  }

  /** Throws AmqpError 501 when the header at `pos` has an unknown type or exceeds frame_max. */
  private check(buf: Buffer, pos: number): void {
    const type = buf[pos]!;
    const channel = buf.readUInt16BE(pos + 1);
    const size = buf.readUInt32BE(pos + 3);
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
      throw new AmqpError(FRAME_ERROR, `type ${type}, all octets = <<>>: {frame_header,${type},${channel},${size}}`);
    }
    if (this.frameMax > 0 && size + FRAME_OVERHEAD > this.frameMax) {
      throw new AmqpError(FRAME_ERROR, `frame size ${size + FRAME_OVERHEAD} exceeds frame_max ${this.frameMax}`);
    }
  }

  /** Emits the whole frames in `buf` from `pos`; returns where the first incomplete one starts. */
  private scan(buf: Buffer, pos: number, onFrame: (f: Frame) => void): number {
    while (buf.length - pos >= FRAME_HEADER_SIZE) {
      this.check(buf, pos);
      const channel = buf.readUInt16BE(pos + 1);
      const size = buf.readUInt32BE(pos + 3);
      if (buf.length - pos < size + FRAME_OVERHEAD) break;
      if (buf[pos + FRAME_HEADER_SIZE + size] !== FRAME_END) {
        throw new AmqpError(FRAME_ERROR, `invalid frame end octet ${buf[pos + FRAME_HEADER_SIZE + size]} on channel ${channel}`);
      }
      const type = buf[pos]!;
      const payload = buf.subarray(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + size);
      pos += size + FRAME_OVERHEAD;
      onFrame({ type, channel, payload });
    }
    return pos;
  }
}

export const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);
