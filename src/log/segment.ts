/**
 * One segment: a `.log` file of record batches named by its base offset, with its offset and time
 * indexes. The segment tracks two sizes: `size` counts batches already given offsets (some may still
 * wait in the partition's group-commit buffer), `writtenSize` what has reached the file.
 */
import { closeSync, fdatasync, openSync, renameSync, statSync, unlinkSync, existsSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { walkBatches, readFully } from './scan.js';
import { BATCH_HEADER_SIZE, F, LOG_OVERHEAD, readInt64 } from './batch-format.js';

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  private fd = -1;
  size: number;
  writtenSize: number;
  /** Offset after the last batch given to this segment; for older segments, the next segment's base. */
  nextOffset: number;
  private maxTs = -1;
  private maxTsOffset = -1;
  /** Timestamp `segment.ms` counts from: the first batch's max timestamp, else the creation time. */
  rollTimestamp: number;
  private bytesSinceIndex = 0;
  private oIndex: OffsetIndex | null = null;
  private tIndex: TimeIndex | null = null;
  /** fdatasync calls in flight: the fd must stay open until they finish. */
  private syncing = 0;
  private closeWanted = false;
  /** Written since the last fdatasync. */
  dirty = false;

  private constructor(readonly dir: string, readonly baseOffset: number, size: number, createdAt: number) {
    const name = segmentName(baseOffset);
    this.logPath = join(dir, `${name}.log`);
    this.indexPath = join(dir, `${name}.index`);
    this.timeIndexPath = join(dir, `${name}.timeindex`);
    this.size = size;
    this.writtenSize = size;
    this.nextOffset = baseOffset;
    this.rollTimestamp = createdAt;
  }

  static create(dir: string, baseOffset: number): Segment {
    const seg = new Segment(dir, baseOffset, 0, Date.now());
    // Stale index files of an earlier segment at this base (deleted log) must not be trusted.
    for (const p of [seg.indexPath, seg.timeIndexPath]) if (existsSync(p)) unlinkSync(p);
    seg.fd = openSync(seg.logPath, 'a+');
    ftruncateSync(seg.fd, 0);
    seg.oIndex = new OffsetIndex(seg.indexPath);
    seg.tIndex = new TimeIndex(seg.timeIndexPath);
    return seg;
  }

  /**
   * An existing segment. Its file is opened and its indexes loaded (rebuilt if needed) on first use, so
   * a partition with many old segments holds descriptors only for those actually read.
   */
  static open(dir: string, baseOffset: number): Segment {
    const seg = new Segment(dir, baseOffset, 0, 0);
    const st = statSync(seg.logPath);
    seg.size = seg.writtenSize = st.size;
    seg.rollTimestamp = st.mtimeMs;
    return seg;
  }

  get handle(): number {
    if (this.closeWanted) throw new Error(`segment ${this.logPath} is closed`);
    if (this.fd < 0) this.fd = openSync(this.logPath, 'a+');
    return this.fd;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Largest timestamp in the segment (-1 when it has none). */
  get maxTimestamp(): number {
    // Indexes already in memory are authoritative (they may hold entries not yet in the files).
    if (this.maxTs < 0 && this.size > 0 && !this.oIndex) this.loadIndexes();
    return this.maxTs;
  }

  get indexEntries(): number {
    return this.offsetIndex.count;
  }

  get offsetIndex(): OffsetIndex {
    if (!this.oIndex) this.loadIndexes();
    return this.oIndex!;
  }

  get timeIndex(): TimeIndex {
    if (!this.tIndex) this.loadIndexes();
    return this.tIndex!;
  }

  /** Trusts the index files of a closed segment unless missing or damaged, then rebuilds from the log. */
  private loadIndexes(): void {
    const o = OffsetIndex.load(this.indexPath, this.writtenSize);
    const t = TimeIndex.load(this.timeIndexPath);
    if (o.intact && t.intact) {
      this.oIndex = o.index;
      this.tIndex = t.index;
      this.maxTs = Math.max(this.maxTs, t.index.lastTimestamp);
      return;
    }
    this.rebuildIndexes(4096);
  }

  private rebuildIndexes(interval: number): void {
    this.oIndex = new OffsetIndex(this.indexPath);
    this.tIndex = new TimeIndex(this.timeIndexPath);
    this.bytesSinceIndex = 0;
    this.maxTs = -1;
    walkBatches(this.handle, 0, this.writtenSize, (b) => {
      this.track(b.baseOffset, b.lastOffset, b.maxTimestamp, b.position, b.size, interval);
    });
    this.oIndex.resetFile();
    this.tIndex.resetFile();
    this.finishIndexes();
  }

  /**
   * Records a batch placed at `position` (called at append time, in offset order). An index entry is
   * added once `interval` bytes have gone by since the last one, pointing at this batch.
   */
  track(baseOffset: number, lastOffset: number, maxTimestamp: number, position: number, size: number, interval: number): void {
    if (this.bytesSinceIndex >= interval && position > 0) {
      this.offsetIndex.append(baseOffset - this.baseOffset, position);
      this.bytesSinceIndex = 0;
      if (this.maxTs >= 0) this.timeIndex.maybeAppend(this.maxTs, this.maxTsOffset - this.baseOffset);
    }
    this.bytesSinceIndex += size;
    if (maxTimestamp > this.maxTs) {
      this.maxTs = maxTimestamp;
      this.maxTsOffset = baseOffset;
    }
    if (position === 0) this.rollTimestamp = maxTimestamp >= 0 ? maxTimestamp : Date.now();
    this.nextOffset = lastOffset + 1;
  }

  /** Writes index entries to their files when enough have accumulated. */
  maybeFlushIndexes(): void {
    if (this.oIndex?.needsFlush()) this.oIndex.flush();
    if (this.tIndex?.needsFlush()) this.tIndex.flush();
  }

  /** Adds the final time index entry and writes both indexes out (at roll and close). */
  finishIndexes(): void {
    if (!this.oIndex || !this.tIndex) return;
    if (this.maxTs >= 0) this.tIndex.maybeAppend(this.maxTs, this.maxTsOffset - this.baseOffset);
    this.oIndex.flush();
    this.tIndex.flush();
  }

  /** File position to start scanning from for `offset`. */
  positionFor(offset: number): number {
    return this.offsetIndex.lookup(offset - this.baseOffset);
  }

  /**
   * Crash recovery of the tail segment: trusts the index up to its last entry that still points at a
   * sound batch header, then validates every batch after it (length, magic, CRC, growing offsets),
   * truncates the file at the first bad one and rebuilds the index entries of the scanned part.
   * Returns the number of bytes cut off.
   */
  recover(interval: number): { truncatedBytes: number; problem?: string } {
    const fileSize = this.writtenSize;
    const o = OffsetIndex.load(this.indexPath, fileSize).index;
    const t = TimeIndex.load(this.timeIndexPath).index;
    let keep = o.count;
    let startPos = 0;
    const head = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    while (keep > 0) {
      const e = o.entry(keep - 1);
      const n = readFully(this.handle, head, BATCH_HEADER_SIZE, e.pos);
      if (n === BATCH_HEADER_SIZE && head[F.magic] === 2 && readInt64(head, F.baseOffset) === this.baseOffset + e.rel) {
        const size = head.readInt32BE(F.batchLength) + LOG_OVERHEAD;
        if (size >= BATCH_HEADER_SIZE && e.pos + size <= fileSize) {
          startPos = e.pos;
          break;
        }
      }
      keep--;
    }
    // Entries up to the one at startPos stay; the scan adds those after it.
    const startRel = keep > 0 ? o.entry(keep - 1).rel : 0;
    o.truncate(keep);
    t.truncateFrom(startRel);
    this.oIndex = o;
    this.tIndex = t;
    this.maxTs = t.lastTimestamp;
    this.maxTsOffset = t.count > 0 ? this.baseOffset + t.lastRel : -1;
    this.bytesSinceIndex = 0;
    this.nextOffset = this.baseOffset + startRel;
    let first = true;
    const res = walkBatches(
      this.handle,
      startPos,
      fileSize,
      (b) => {
        this.track(b.baseOffset, b.lastOffset, b.maxTimestamp, b.position, b.size, interval);
        first = false;
      },
      { verify: true, minOffset: this.baseOffset + startRel },
    );
    // The batch at startPos itself may be the damaged one.
    while (o.count > 0 && o.entry(o.count - 1).pos >= res.end) o.truncate(o.count - 1);
    if (startPos === 0 && first) this.nextOffset = this.baseOffset;
    if (startPos > 0 && readFully(this.handle, head, BATCH_HEADER_SIZE, 0) === BATCH_HEADER_SIZE) {
      const ts = readInt64(head, F.maxTimestamp);
      if (ts >= 0) this.rollTimestamp = ts;
    }
    const truncatedBytes = fileSize - res.end;
    if (truncatedBytes > 0) ftruncateSync(this.handle, res.end);
    this.size = this.writtenSize = res.end;
    return { truncatedBytes, problem: res.problem };
  }

  /** An fdatasync is in flight: the file must not be swapped or closed now. */
  get busy(): boolean {
    return this.syncing > 0;
  }

  /**
   * Swaps in a rewritten log file (compaction). The index files go first: a crash in between leaves
   * the old log without indexes (rebuilt on open), never indexes pointing into the wrong file.
   */
  replaceWith(tmpPath: string): void {
    for (const p of [this.indexPath, this.timeIndexPath]) if (existsSync(p)) unlinkSync(p);
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    renameSync(tmpPath, this.logPath);
    this.oIndex = null;
    this.tIndex = null;
    this.maxTs = -1;
    this.maxTsOffset = -1;
    this.size = this.writtenSize = statSync(this.logPath).size;
    this.dirty = false;
  }

  /** fdatasync of the log file; the fd stays open until every sync in flight is done. */
  sync(): Promise<void> {
    if (this.fd < 0) return Promise.resolve();
    this.dirty = false;
    this.syncing++;
    return new Promise((resolve, reject) => {
      fdatasync(this.fd, (err) => {
        this.syncing--;
        if (this.closeWanted && this.syncing === 0) this.closeNow();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  close(): void {
    this.closeWanted = true;
    if (this.syncing === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Removes the segment's files (the fd closes once no sync needs it). */
  delete(): void {
    for (const p of [this.logPath, this.indexPath, this.timeIndexPath]) {
      try {
        unlinkSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.close();
  }
}

/** Index of the segment holding `offset`: the last one whose base is <= offset (0 if none is). */
export function segmentIndexFor(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let ans = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}
