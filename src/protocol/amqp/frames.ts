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
 * Splits a byte stream into frames. Keeps unparsed bytes between chunks without copying
 * when a chunk holds only whole frames (the common case under load).
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
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let pos = 0;
    while (buf.length - pos >= FRAME_HEADER_SIZE) {
      const type = buf[pos]!;
      const channel = buf.readUInt16BE(pos + 1);
      const size = buf.readUInt32BE(pos + 3);
      if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
        throw new AmqpError(FRAME_ERROR, `type ${type}, all octets = <<>>: {frame_header,${type},${channel},${size}}`);
      }
      if (this.frameMax > 0 && size + FRAME_OVERHEAD > this.frameMax) {
        throw new AmqpError(FRAME_ERROR, `frame size ${size + FRAME_OVERHEAD} exceeds frame_max ${this.frameMax}`);
      }
      if (buf.length - pos < size + FRAME_OVERHEAD) break;
      if (buf[pos + FRAME_HEADER_SIZE + size] !== FRAME_END) {
        throw new AmqpError(FRAME_ERROR, `invalid frame end octet ${buf[pos + FRAME_HEADER_SIZE + size]} on channel ${channel}`);
      }
      const payload = buf.subarray(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + size);
      pos += size + FRAME_OVERHEAD;
      onFrame({ type, channel, payload });
    }
    if (pos < buf.length) this.pending = Buffer.from(buf.subarray(pos));
  }
}

export const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);
