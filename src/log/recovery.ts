/**
 * Opening a partition directory after a clean stop or a crash: the segment list, the validated tail,
 * and the producer state (snapshot plus the batches written after it).
 */
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, F, LOG_OVERHEAD, readInt64 } from './batch-format.js';
import { listSnapshots, readSnapshot } from './dir-files.js';
import { ProducerState, type ProducerBatch } from './producer-state.js';
import { decodeRecordBatches } from './record-batch.js';
import { readAt, walkBatches, type BatchView } from './scan.js';
import { Segment, segmentIndexFor } from './segment.js';

const SEGMENT_FILE = /^(\d{20})\.log$/;
const INDEX_FILE = /^(\d{20})\.(index|timeindex)$/;

/**
 * Lists the segments of `dir` (creating the directory and a first segment at `startOffset` if it has
 * none), removing leftovers: temporary files and indexes whose log is gone.
 */
export function openSegments(dir: string, startOffset: number): Segment[] {
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(dir);
  const bases: number[] = [];
  for (const f of files) {
    const m = SEGMENT_FILE.exec(f);
    if (m) bases.push(Number(m[1]));
    else if (f.endsWith('.tmp')) unlinkSync(join(dir, f));
  }
  bases.sort((a, b) => a - b);
  const known = new Set(bases);
  for (const f of files) {
    const m = INDEX_FILE.exec(f);
    if (m && !known.has(Number(m[1]))) unlinkSync(join(dir, f));
  }
  if (bases.length === 0) return [Segment.create(dir, startOffset)];
  const segments = bases.map((b) => Segment.open(dir, b));
  for (let i = 0; i + 1 < segments.length; i++) segments[i]!.nextOffset = segments[i + 1]!.baseOffset;
  return segments;
}

/**
 * Validates the tail segment (see Segment.recover). A crash right after a roll can leave the new
 * segment empty while the previous one lost its last (never acknowledged) batches: then the empty
 * segment is dropped and the previous one recovered and continued, so that offsets stay contiguous.
 */
export function recoverTail(segments: Segment[], indexInterval: number, logger: Logger, dir: string): void {
  for (;;) {
    const tail = segments[segments.length - 1]!;
    const r = tail.recover(indexInterval);
    if (r.truncatedBytes > 0) {
      logger.warn('truncated damaged tail of the log', { dir, segment: tail.baseOffset, bytes: r.truncatedBytes, problem: r.problem });
    }
    if (!tail.isEmpty || segments.length < 2) return;
    const prev = segments[segments.length - 2]!;
    prev.recover(indexInterval);
    if (prev.nextOffset === tail.baseOffset) return;
    logger.warn('dropping empty tail segment after a gap', { dir, segment: tail.baseOffset, previousEnd: prev.nextOffset });
    segments.pop();
    tail.delete();
  }
}

/** The producer fields of a stored batch (reading the whole batch only for control markers). */
function producerBatchOf(b: BatchView, seg: Segment): ProducerBatch {
  const { buf, at } = b;
  let control: 'commit' | 'abort' | null = null;
  if ((b.attributes & ATTR_CONTROL) !== 0) {
    const size = buf.readInt32BE(at + F.batchLength) + LOG_OVERHEAD;
    const whole = b.complete ? buf.subarray(at, at + size) : readAt(seg.handle, b.position, size);
    const rec = decodeRecordBatches(whole)[0]?.records[0];
    control = rec?.key && rec.key.length >= 4 && rec.key.readInt16BE(2) === 1 ? 'commit' : 'abort';
  }
  return {
    producerId: readInt64(buf, at + F.producerId),
    producerEpoch: buf.readInt16BE(at + F.producerEpoch),
    baseSequence: buf.readInt32BE(at + F.baseSequence),
    lastOffsetDelta: buf.readInt32BE(at + F.lastOffsetDelta),
    transactional: (b.attributes & ATTR_TRANSACTIONAL) !== 0,
    control,
  };
}

/**
 * The newest usable snapshot (taken at or before the recovered end), then every batch after it that
 * still exists; without one, the batches of the tail segment.
 */
export function loadProducerState(dir: string, segments: Segment[], endOffset: number): ProducerState {
  let state = new ProducerState();
  let from = segments[segments.length - 1]!.baseOffset;
  for (const offset of listSnapshots(dir)) {
    if (offset > endOffset) continue;
    const snap = ProducerState.fromSnapshot(readSnapshot(dir, offset));
    if (!snap || snap.offset !== offset) continue;
    state = snap.state;
    // Batches between the snapshot and the oldest segment were deleted: nothing to replay there.
    from = Math.max(offset, segments[0]!.baseOffset);
    break;
  }
  if (from >= endOffset) return state;
  for (let i = segmentIndexFor(segments, from); i < segments.length; i++) {
    const seg = segments[i]!;
    walkBatches(seg.handle, seg.positionFor(from), seg.writtenSize, (b) => {
      if (b.lastOffset >= from) state.apply(producerBatchOf(b, seg), b.baseOffset, b.lastOffset);
    });
  }
  return state;
}
