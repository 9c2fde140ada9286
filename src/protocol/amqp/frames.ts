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
 * Receives frames as a range of a buffer rather than as objects: on the publish path three frames
 * arrive per message, and an object plus a Buffer view per frame was a large share of the broker's
 * young-generation garbage. The range is valid only during the call (the buffer is the socket's
 * read chunk or the parser's own reassembly buffer, both reused), so a sink copies what it keeps.
 */
export interface FrameSink {
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
}

/** Splits a byte stream into frames. Only a frame split across reads is copied. */
export class FrameParser {
  /** Reassembly buffer for a frame split across reads; reused, grown as needed. */
  private split: Buffer = Buffer.allocUnsafe(0);
  /** Bytes of the split frame held in `split`; 0 = none. */
  private held = 0;
  /** Largest frame accepted, including the 8 bytes of overhead; 0 = no limit announced yet. */
  frameMax: number;

  constructor(frameMax: number) {
    this.frameMax = frameMax;
  }

  /** Calls the sink for each complete frame in `chunk[0, length)`; throws AmqpError 501 on a malformed one. */
  push(chunk: Buffer, sink: FrameSink, length = chunk.length): void {
    let pos = 0;
    if (this.held > 0) {
      // Complete only the one frame split across reads: gluing the whole new chunk onto it
      // copied every received byte a second time under load.
      if (this.held < FRAME_HEADER_SIZE) {
        pos = this.hold(chunk, 0, FRAME_HEADER_SIZE - this.held, length);
        if (this.held < FRAME_HEADER_SIZE) return;
      }
      this.check(this.split, 0);
      const total = this.split.readUInt32BE(3) + FRAME_OVERHEAD;
      pos = this.hold(chunk, pos, total - this.held, length);
      if (this.held < total) return;
      this.held = 0;
      this.scan(this.split, 0, total, sink);
    }
    const end = this.scan(chunk, pos, length, sink);
    if (end < length) this.hold(chunk, end, length - end, length);
  }

  /** Appends up to `n` bytes of `chunk[pos, length)` to the split frame; returns the new read position. */
  private hold(chunk: Buffer, pos: number, n: number, length: number): number {
    const take = Math.min(n, length - pos);
    if (this.held + take > this.split.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.held + take, FRAME_HEADER_SIZE, this.split.length * 2));
      this.split.copy(grown, 0, 0, this.held);
      this.split = grown;
    }
    chunk.copy(this.split, this.held, pos, pos + take);
    this.held += take;
    return pos + take;
  }

  /** Throws AmqpError 501 when the header at `pos` has an unknown type or exceeds frame_max. */
  private check(buf: Buffer, pos: number): void {
    const type = buf[pos]!;
    const size = buf.readUInt32BE(pos + 3);
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
      throw new AmqpError(FRAME_ERROR, `type ${type}, all octets = <<>>: {frame_header,${type},${buf.readUInt16BE(pos + 1)},${size}}`);
    }
    if (this.frameMax > 0 && size + FRAME_OVERHEAD > this.frameMax) {
      throw new AmqpError(FRAME_ERROR, `frame size ${size + FRAME_OVERHEAD} exceeds frame_max ${this.frameMax}`);
    }
  }

  /** Emits the whole frames in `buf[pos, limit)`; returns where the first incomplete one starts. */
  private scan(buf: Buffer, pos: number, limit: number, sink: FrameSink): number {
    while (limit - pos >= FRAME_HEADER_SIZE) {
      this.check(buf, pos);
      const size = buf.readUInt32BE(pos + 3);
      if (limit - pos < size + FRAME_OVERHEAD) break;
      const channel = buf.readUInt16BE(pos + 1);
      const end = pos + FRAME_HEADER_SIZE + size;
      if (buf[end] !== FRAME_END) throw new AmqpError(FRAME_ERROR, `invalid frame end octet ${buf[end]} on channel ${channel}`);
      const type = buf[pos]!;
      const start = pos + FRAME_HEADER_SIZE;
      pos = end + 1;
      sink.onFrame(type, channel, buf, start, end);
    }
    return pos;
  }
}

export const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);
