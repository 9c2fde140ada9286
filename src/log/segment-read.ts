/** Reading batches out of one segment file: by offset (fetches) and by timestamp (ListOffsets). */
import { ATTR_LOG_APPEND_TIME, BATCH_HEADER_SIZE, F, LOG_OVERHEAD, readInt64 } from './batch-format.js';
import { decodeRecordBatches } from './record-batch.js';
import { readAt, readFully, walkBatches } from './scan.js';
import type { Segment } from './segment.js';
import type { ReadBuffers } from './slab.js';

/** Extra bytes read past maxBytes so the batch holding the asked offset (after the index hint) fits. */
const READ_SLACK = 64 * 1024;

export interface SegmentRead {
  buf: Buffer;
  /** Offset after the last batch returned. */
  nextOffset: number;
}

/**
 * Whole batches from the one holding `offset`, those starting below `limit`, about `maxBytes` (at least
 * one batch): usually one positional read from the index hint. Null when the segment has none.
 */
export function readSegment(seg: Segment, offset: number, limit: number, maxBytes: number, slab: ReadBuffers): SegmentRead | null {
  let pos = seg.positionFor(offset);
  const end = seg.writtenSize;
  while (pos < end) {
    const want = Math.min(end - pos, Math.max(maxBytes, 1) + READ_SLACK);
    const buf = slab.alloc(want);
    const n = readFully(seg.handle, buf, want, pos);
    let p = 0;
    let start = -1;
    let nextOffset = offset;
    while (p + BATCH_HEADER_SIZE <= n) {
      const size = buf.readInt32BE(p + F.batchLength) + LOG_OVERHEAD;
      const base = readInt64(buf, p + F.baseOffset);
      const last = base + buf.readInt32BE(p + F.lastOffsetDelta);
      if (base >= limit) break;
      if (start < 0) {
        if (last < offset) {
          p += size;
          continue;
        }
        if (p + size > n) {
          // The first batch alone is larger than what was read: read exactly it.
          slab.shrinkLast(buf, 0);
          const whole = slab.alloc(size);
          readFully(seg.handle, whole, size, pos + p);
          return { buf: whole, nextOffset: last + 1 };
        }
        start = p;
      } else if (p + size - start > maxBytes || p + size > n) break;
      p += size;
      nextOffset = last + 1;
    }
    if (start >= 0) {
      slab.shrinkLast(buf, p);
      return { buf: buf.subarray(start, p), nextOffset };
    }
    slab.shrinkLast(buf, 0);
    if (p === 0 || (n < want && p + BATCH_HEADER_SIZE > n)) return null;
    // Every batch read lies before `offset` (a sparse or missing index): continue after them.
    pos += p;
  }
  return null;
}

/**
 * First record at or after `ts` in the segment, among offsets in [startOffset, endOffset): the time
 * index narrows the scan, batch max timestamps skip whole batches, and only the batch that holds the
 * answer is decoded (LogAppendTime batches need no decoding: every record has the batch timestamp).
 */
export function findTimestamp(seg: Segment, ts: number, startOffset: number, endOffset: number): { offset: number; timestamp: number } | null {
  if (seg.maxTimestamp < ts) return null;
  const from = Math.max(seg.baseOffset + seg.timeIndex.lookup(ts), startOffset);
  let found: { offset: number; timestamp: number } | null = null;
  walkBatches(seg.handle, seg.positionFor(from), seg.writtenSize, (b) => {
    if (b.baseOffset >= endOffset) return false;
    if (b.lastOffset < startOffset || b.maxTimestamp < ts) return;
    if ((b.attributes & ATTR_LOG_APPEND_TIME) !== 0) {
      found = { offset: Math.max(b.baseOffset, startOffset), timestamp: b.maxTimestamp };
      return false;
    }
    const whole = b.complete ? b.buf.subarray(b.at, b.at + b.size) : readAt(seg.handle, b.position, b.size);
    for (const r of decodeRecordBatches(whole)[0]?.records ?? []) {
      if (r.offset >= startOffset && r.timestamp >= ts) {
        found = { offset: r.offset, timestamp: r.timestamp };
        return false;
      }
    }
  });
  return found;
}
