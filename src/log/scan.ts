/**
 * Walking the batches of a `.log` file with positional reads. Header walks (index rebuilds, producer
 * state) read small chunks so big batches cost one short read each; validating walks (recovery) read
 * whole batches to check their CRC.
 */
import { readSync } from 'node:fs';
import { crc32c } from './crc32c.js';
import { BATCH_HEADER_SIZE, F, LOG_OVERHEAD, readInt64 } from './batch-format.js';

export interface BatchView {
  /** Buffer holding at least the header (and the whole batch when `complete`). */
  buf: Buffer;
  /** Offset of the batch inside `buf`. */
  at: number;
  /** File position of the batch. */
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  attributes: number;
  complete: boolean;
}

export interface WalkResult {
  /** Position just after the last good batch walked. */
  end: number;
  /** Why the walk stopped before `limit`, if it hit bad data. */
  problem?: string;
}

function readFully(fd: number, buf: Buffer, len: number, position: number): number {
  let n = 0;
  while (n < len) {
    const r = readSync(fd, buf, n, len - n, position + n);
    if (r === 0) break;
    n += r;
  }
  return n;
}

export interface WalkOptions {
  /** Verify each batch's CRC (reads whole batches). */
  verify?: boolean;
  /** Each batch's base offset must be at least this (offsets only grow). */
  minOffset?: number;
  chunkBytes?: number;
}

/**
 * Calls `visit` for each batch in [from, limit) until it returns false. Stops at the first batch that is
 * torn, has an impossible length or wrong magic (or, with `verify`, a bad CRC or a decreasing offset).
 */
export function walkBatches(fd: number, from: number, limit: number, visit: (b: BatchView) => boolean | void, opts: WalkOptions = {}): WalkResult {
  const verify = opts.verify ?? false;
  let chunk = Buffer.allocUnsafe(opts.chunkBytes ?? (verify ? 1024 * 1024 : 8192));
  let expectOffset = opts.minOffset ?? -Infinity;
  let pos = from;
  // Header walks over batches bigger than the chunk read just the next header, not a whole chunk.
  let headerOnly = false;
  while (pos < limit) {
    const len = readFully(fd, chunk, Math.min(headerOnly ? BATCH_HEADER_SIZE : chunk.length, limit - pos), pos);
    if (len < BATCH_HEADER_SIZE) return { end: pos, problem: 'torn batch header' };
    let p = 0;
    while (p + BATCH_HEADER_SIZE <= len) {
      const size = chunk.readInt32BE(p + F.batchLength) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE) return { end: pos + p, problem: `impossible batch length ${size}` };
      if (pos + p + size > limit) return { end: pos + p, problem: 'torn batch' };
      if (chunk[p + F.magic] !== 2) return { end: pos + p, problem: `magic ${chunk[p + F.magic]}` };
      const complete = p + size <= len;
      if (verify && !complete) {
        if (p === 0 && size <= chunk.length) return { end: pos, problem: 'file shorter than expected' };
        if (size > chunk.length) chunk = Buffer.allocUnsafe(size);
        break;
      }
      const baseOffset = readInt64(chunk, p + F.baseOffset);
      if (verify) {
        if (baseOffset < expectOffset) return { end: pos + p, problem: `offset ${baseOffset} goes backwards` };
        if (crc32c(chunk.subarray(p + F.attributes, p + size)) !== chunk.readUInt32BE(p + F.crc)) {
          return { end: pos + p, problem: 'CRC mismatch' };
        }
      }
      const lastOffset = baseOffset + chunk.readInt32BE(p + F.lastOffsetDelta);
      expectOffset = lastOffset + 1;
      const more = visit({
        buf: chunk,
        at: p,
        position: pos + p,
        size,
        baseOffset,
        lastOffset,
        maxTimestamp: readInt64(chunk, p + F.maxTimestamp),
        attributes: chunk.readInt16BE(p + F.attributes),
        complete,
      });
      p += size;
      if (more === false) return { end: pos + p };
      if (!verify) headerOnly = size > chunk.length;
    }
    pos += p;
  }
  return { end: pos };
}

/** Reads `len` bytes at `position` into a fresh buffer. */
export function readAt(fd: number, position: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  const n = readFully(fd, buf, len, position);
  return n === len ? buf : buf.subarray(0, n);
}

export { readFully };
