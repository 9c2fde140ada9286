/**
 * Log compaction (cleanup.policy=compact): in segments other than the active one, keep only the latest
 * record of each key (and tombstones until delete.retention.ms has passed). Kept records keep their
 * offsets; a batch that loses records is re-encoded with its original header fields, a batch that
 * loses none is copied byte for byte, one that loses all is dropped. Control batches stay as they are.
 * This runs off the append path (with retention), so decompressing and re-compressing is acceptable.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ATTR_CODEC_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, F } from './batch-format.js';
import { CompressionCodec, type CompressionName } from './compression/index.js';
import { decodeRecordBatches, encodeRecordBatch, type DecodedBatch } from './record-batch.js';
import { readAt, walkBatches } from './scan.js';
import type { Segment } from './segment.js';

const CODEC_NAMES = Object.fromEntries(Object.entries(CompressionCodec).map(([name, id]) => [id, name])) as Record<number, CompressionName>;

function keyOf(k: Buffer): string {
  return k.toString('latin1');
}

/** Calls `each` with every non-control batch of the segment, decoded, in offset order. */
function forEachBatch(seg: Segment, each: (raw: Buffer, decoded: DecodedBatch | null) => void): void {
  walkBatches(seg.handle, 0, seg.writtenSize, (b) => {
    const raw = b.complete ? Buffer.from(b.buf.subarray(b.at, b.at + b.size)) : readAt(seg.handle, b.position, b.size);
    each(raw, (b.attributes & ATTR_CONTROL) !== 0 ? null : decodeRecordBatches(raw)[0]!);
  });
}

/** Latest offset of every key in the given segments (the active one included: its records win). */
export function latestOffsets(segments: readonly Segment[]): Map<string, number> {
  const latest = new Map<string, number>();
  for (const seg of segments) {
    forEachBatch(seg, (_raw, batch) => {
      if (!batch) return;
      for (const r of batch.records) if (r.key) latest.set(keyOf(r.key), r.offset);
    });
  }
  return latest;
}

function reencode(batch: DecodedBatch, keep: DecodedBatch['records']): Buffer {
  return encodeRecordBatch({
    baseOffset: batch.baseOffset,
    compression: CODEC_NAMES[batch.attributes & ATTR_CODEC_MASK] ?? 'none',
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    transactional: (batch.attributes & ATTR_TRANSACTIONAL) !== 0,
    partitionLeaderEpoch: batch.partitionLeaderEpoch,
    timestampType: (batch.attributes & ATTR_LOG_APPEND_TIME) !== 0 ? 'LogAppendTime' : 'CreateTime',
    lastOffsetDelta: batch.lastOffset - batch.baseOffset,
    maxTimestamp: batch.maxTimestamp,
    records: keep.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offsetDelta: r.offset - batch.baseOffset,
    })),
  });
}

export interface CleanOptions {
  latest: ReadonlyMap<string, number>;
  /** Tombstones (null values) are dropped once the segment is older than this. */
  dropTombstones: boolean;
  fsync: boolean;
}

/**
 * Writes the compacted content of `seg` to `tmpPath`. Returns the number of records removed (0: the
 * file is not needed and nothing should change).
 */
export function cleanSegment(seg: Segment, tmpPath: string, opts: CleanOptions): number {
  const out: Buffer[] = [];
  let removed = 0;
  forEachBatch(seg, (raw, batch) => {
    if (!batch) {
      out.push(raw);
      return;
    }
    const keep = batch.records.filter((r) => {
      if (!r.key) return true;
      if (opts.latest.get(keyOf(r.key)) !== r.offset) return false;
      return !(r.value === null && opts.dropTombstones);
    });
    removed += batch.records.length - keep.length;
    if (keep.length === batch.records.length) out.push(raw);
    else if (keep.length > 0) out.push(reencode(batch, keep));
  });
  if (removed === 0) return 0;
  const fd = openSync(tmpPath, 'w');
  try {
    for (const b of out) {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    }
    if (opts.fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return removed;
}

/** Whether any record of the batch (at `at` in `buf`) has no key; compacted topics refuse those. */
export function hasKeylessRecord(buf: Buffer, at: number, size: number): boolean {
  if ((buf.readInt16BE(at + F.attributes) & ATTR_CONTROL) !== 0) return false;
  const [batch] = decodeRecordBatches(buf.subarray(at, at + size));
  return batch ? batch.records.some((r) => r.key === null) : false;
}
