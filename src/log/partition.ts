/**
 * One partition: an ordered list of segments, offsets assigned at append time, group-committed writes,
 * reads by offset and timestamp, retention, and crash recovery on open.
 */
import { writeSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32c } from './crc32c.js';
import type { FsyncPolicy } from '../config.js';
import type { Logger } from '../logger.js';
import { ATTR_LOG_APPEND_TIME, BATCH_HEADER_SIZE, F, writeInt64 } from './batch-format.js';
import { LOG_START_FILE, readLogStartOffset, syncDir, writeFileAtomic, writeSnapshot } from './dir-files.js';
import type { GroupCommitter } from './group-commit.js';
import { ProducerState } from './producer-state.js';
import { loadProducerState, openSegments, recoverTail } from './recovery.js';
import { Segment, segmentIndexFor } from './segment.js';
import { findTimestamp, readSegment } from './segment-read.js';
import { Slab, type ReadBuffers } from './slab.js';
import { TailCache } from './tail-cache.js';
import type { LogConfig } from './topic-config.js';
import { LogError, LogErrorCode, type AppendOptions, type AppendResult, type IsolationLevel, type PartitionLog, type ReadResult } from './types.js';
import { validateBatches, type IncomingBatch } from './validate.js';
import { cleanSegment, hasKeylessRecord, latestOffsets } from './compaction.js';

const INT32_MAX = 2147483647;
/**
 * Batches up to this size are copied whole into the partition's slab (few, contiguous iovecs); larger
 * ones only have their 61-byte header copied (patched there) and their records written and cached
 * straight from the caller's buffer, sparing a copy and the page faults of fresh memory.
 */
const COPY_WHOLE_BELOW = 4096;
/**
 * Pending bytes from which an append is written at once instead of at the end of the turn (it is still
 * acknowledged with the group). Past this size a write's per-call cost is negligible (1 MiB writes
 * cost the same per byte), while a large request's bytes are still in the CPU cache from the socket
 * read and the CRC check: written at the end of the turn, after the turn's other requests, they had
 * to be fetched from memory again.
 */
const WRITE_AT_ONCE_BYTES = 256 * 1024;
/** writev(2) takes at most IOV_MAX (1024 on Linux) buffers per call. */
const IOV_MAX = 1024;
/** Producer state is snapshotted this often (and at roll and close) so recovery replays little log. */
const SNAPSHOT_EVERY_BYTES = 64 * 1024 * 1024;
/** Kafka's producer.id.expiration.ms default. */
const PRODUCER_EXPIRY_MS = 24 * 60 * 60 * 1000;

export interface PartitionOptions {
  topic: string;
  index: number;
  dir: string;
  config: LogConfig;
  fsync: FsyncPolicy;
  logger: Logger;
  committer: GroupCommitter;
  /** Recent appended bytes kept in memory for tail reads (default 1 MiB; 0 disables). */
  tailCacheBytes?: number;
  /** Shared allocator for read buffers. */
  readSlab?: Slab;
}

interface Waiter {
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
  result: AppendResult;
}

/**
 * Bytes waiting for the group's write to one segment, as iovecs. Pieces adjacent in memory are merged
 * by growing `lens` (views of the merged ranges are made once, at write time).
 */
interface Run {
  seg: Segment;
  iov: Buffer[];
  lens: number[];
  bytes: number;
}

const NO_OVERLAY: ReadonlyMap<number, { epoch: number; lastSeq: number }> = new Map();

interface SyncItem {
  waiters: Waiter[];
  segs: Set<Segment>;
  end: number;
}

export interface PartitionStats {
  /** write(2) calls on `.log` files. */
  writes: number;
  /** Group commits (flushes with at least one append). */
  groups: number;
  /** fdatasync calls. */
  syncs: number;
  /** Reads served from the in-memory tail. */
  cacheReads: number;
  /** Reads that went to the files. */
  fileReads: number;
  /** Producer ids with idempotence state. */
  producers: number;
}

export class Partition implements PartitionLog {
  readonly topic: string;
  readonly index: number;
  readonly dir: string;
  private config: LogConfig;
  private readonly fsync: FsyncPolicy;
  private readonly logger: Logger;
  private readonly committer: GroupCommitter;
  private segments: Segment[] = [];
  private startOffset = 0;
  /** Next offset to assign. */
  private nextOffset = 0;
  /** End of the acknowledged (written, and synced under `always`) log: what readers may see. */
  private hw = 0;
  private producers = new ProducerState();
  private pending: Run[] = [];
  private pendingBytes = 0;
  /** Segments written to since the last group ended (what the group's fsync must cover). */
  private groupSegs = new Set<Segment>();
  private waiters: Waiter[] = [];
  private syncQueue: SyncItem[] = [];
  private syncing = false;
  private listeners = new Set<() => void>();
  private readonly tail: TailCache;
  private readonly appendSlab = new Slab(16 * 1024, 1024 * 1024);
  private readonly readSlab: Slab;
  private failed: Error | null = null;
  private bytesSinceSnapshot = 0;
  /** Active segment base at the last compaction: nothing new to compact until another segment rolls. */
  private compactedBefore = -1;
  private closed = false;
  private deleted = false;
  private readonly counters = { writes: 0, groups: 0, syncs: 0, cacheReads: 0, fileReads: 0 };

  private constructor(opts: PartitionOptions) {
    this.topic = opts.topic;
    this.index = opts.index;
    this.dir = opts.dir;
    this.config = opts.config;
    this.fsync = opts.fsync;
    this.logger = opts.logger;
    this.committer = opts.committer;
    this.tail = new TailCache(opts.tailCacheBytes ?? 1024 * 1024);
    this.readSlab = opts.readSlab ?? new Slab(64 * 1024, 4 * 1024 * 1024);
  }

  /** Opens (creating or recovering) the partition directory. */
  static open(opts: PartitionOptions): Partition {
    const p = new Partition(opts);
    p.load();
    return p;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  get logEndOffset(): number {
    return this.hw;
  }

  get highWatermark(): number {
    return this.hw;
  }

  get lastStableOffset(): number {
    const first = this.producers.firstUnstableOffset();
    return first === null ? this.hw : Math.min(first, this.hw);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  stats(): PartitionStats {
    return { ...this.counters, producers: this.producers.producerCount };
  }

  setConfig(config: LogConfig): void {
    this.config = config;
  }

  sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  // ---- opening and recovery ----

  private load(): void {
    const storedStart = readLogStartOffset(this.dir);
    this.segments = openSegments(this.dir, storedStart);
    if (this.fsync === 'always') {
      // A new partition directory and its first segment must survive a power loss like its data.
      syncDir(this.dir);
      syncDir(dirname(this.dir));
    }
    recoverTail(this.segments, this.config.indexIntervalBytes, this.logger, this.dir);
    this.nextOffset = this.hw = this.active.nextOffset;
    this.startOffset = Math.min(Math.max(storedStart, this.segments[0]!.baseOffset), this.nextOffset);
    this.producers = loadProducerState(this.dir, this.segments, this.nextOffset);
  }

  private writeSnapshot(): void {
    this.bytesSinceSnapshot = 0;
    writeSnapshot(this.dir, this.nextOffset, this.producers.toSnapshot(this.nextOffset), this.fsync === 'always');
  }

  private writeLogStart(): void {
    writeFileAtomic(this.dir, LOG_START_FILE, String(this.startOffset), this.fsync === 'always');
  }

  // ---- appends ----

  append(batches: Buffer, opts?: AppendOptions): Promise<AppendResult> {
    try {
      return this.appendNow(batches, opts?.transient === true);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private appendNow(buf: Buffer, transient: boolean): Promise<AppendResult> {
    this.assertUsable();
    if (this.failed) throw new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, `partition ${this.topic}-${this.index} failed: ${this.failed.message}`);
    const incoming = validateBatches(buf, this.config.maxMessageBytes);
    for (const b of incoming) {
      if (b.size > this.config.segmentBytes) {
        throw new LogError(LogErrorCode.RECORD_LIST_TOO_LARGE, `batch of ${b.size} bytes is larger than segment.bytes ${this.config.segmentBytes}`);
      }
      if (!this.config.logAppendTime && b.control === null) this.checkTimestamps(b);
      if (this.config.compact && hasKeylessRecord(buf, b.at, b.size)) {
        throw new LogError(LogErrorCode.INVALID_RECORD, `compacted topic ${this.topic} cannot accept a record without a key`);
      }
    }
    if (incoming.length === 1) {
      const dup = this.producers.check(incoming[0]!, NO_OVERLAY);
      if (dup) return this.answerDuplicate(dup.firstOffset, dup.lastOffset);
    } else {
      // Later batches of the same producer in this append are checked against the earlier ones.
      const overlay = new Map<number, { epoch: number; lastSeq: number }>();
      for (const b of incoming) {
        if (this.producers.check(b, overlay)) {
          throw new LogError(LogErrorCode.DUPLICATE_SEQUENCE_NUMBER, `producer ${b.producerId} resent sequence ${b.baseSequence} inside a multi-batch append`);
        }
        ProducerState.overlayAfter(b, overlay, overlay.get(b.producerId) ?? this.producers.current(b.producerId));
      }
    }
    const now = Date.now();
    const logAppendTime = this.config.logAppendTime;
    const firstOffset = this.nextOffset;
    try {
      this.place(incoming, buf, now, transient);
    } catch (err) {
      // A roll failed half-way (disk full, permissions): offsets were handed out that cannot be kept.
      this.fail(err as Error, []);
      throw new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, `append to ${this.dir} failed: ${(err as Error).message}`);
    }
    const result: AppendResult = {
      baseOffset: firstOffset,
      lastOffset: this.nextOffset - 1,
      logAppendTime: logAppendTime ? now : -1,
      logStartOffset: this.startOffset,
      duplicate: false,
    };
    return this.enqueue(result);
  }

  /**
   * message.timestamp.before/after.max.ms, judged from the batch header (first and largest record
   * timestamps) so that compressed batches need not be decompressed; records in between are not seen.
   */
  private checkTimestamps(b: IncomingBatch): void {
    const now = Date.now();
    const { timestampBeforeMaxMs: before, timestampAfterMaxMs: after } = this.config;
    if (b.maxTimestamp > now + after) {
      throw new LogError(LogErrorCode.INVALID_TIMESTAMP, `timestamp ${b.maxTimestamp} is more than message.timestamp.after.max.ms ${after} ahead of ${now}`);
    }
    if (b.baseTimestamp >= 0 && b.baseTimestamp < now - before) {
      throw new LogError(LogErrorCode.INVALID_TIMESTAMP, `timestamp ${b.baseTimestamp} is more than message.timestamp.before.max.ms ${before} behind ${now}`);
    }
  }

  /**
   * Gives the validated batches their offsets and queues them for the group's write. A `transient`
   * buffer is written before the append settles but not cached: the tail cache, which must stay a
   * contiguous run of batches, is emptied instead, and reads go to the files until it refills.
   */
  private place(incoming: IncomingBatch[], buf: Buffer, now: number, transient: boolean): void {
    const logAppendTime = this.config.logAppendTime;
    for (const b of incoming) {
      this.maybeRoll(b.size, b.lastOffsetDelta, now);
      const seg = this.active;
      const whole = b.size <= COPY_WHOLE_BELOW;
      const head = this.appendSlab.alloc(whole ? b.size : BATCH_HEADER_SIZE);
      buf.copy(head, 0, b.at, b.at + head.length);
      const body = whole ? null : buf.subarray(b.at + BATCH_HEADER_SIZE, b.at + b.size);
      const baseOffset = this.nextOffset;
      writeInt64(head, F.baseOffset, baseOffset);
      head.writeInt32BE(0, F.partitionLeaderEpoch);
      let maxTs = b.maxTimestamp;
      if (logAppendTime) {
        // These fields are covered by the CRC (attributes..end); the records are not touched.
        head.writeInt16BE(head.readInt16BE(F.attributes) | ATTR_LOG_APPEND_TIME, F.attributes);
        writeInt64(head, F.maxTimestamp, now);
        let crc = crc32c(head.subarray(F.attributes));
        if (body) crc = crc32c(body, crc);
        head.writeUInt32BE(crc, F.crc);
        maxTs = now;
      }
      const lastOffset = baseOffset + b.lastOffsetDelta;
      const position = seg.size;
      seg.size += b.size;
      this.bytesSinceSnapshot += b.size;
      seg.track(baseOffset, lastOffset, maxTs, position, b.size, this.config.indexIntervalBytes);
      this.addPiece(seg, head);
      if (body) this.addPiece(seg, body);
      if (body && transient) this.tail.clear();
      else this.tail.push(baseOffset, lastOffset, head, body);
      this.producers.apply(b, baseOffset, lastOffset);
      this.nextOffset = lastOffset + 1;
    }
  }

  private assertUsable(): void {
    if (this.deleted) throw new LogError(LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${this.topic}-${this.index} was deleted`);
    if (this.closed) throw new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, `partition ${this.topic}-${this.index} is closed`);
  }

  private enqueue(result: AppendResult): Promise<AppendResult> {
    const done = new Promise<AppendResult>((resolve, reject) => {
      this.waiters.push({ resolve, reject, result });
      this.committer.schedule(this);
    });
    if (this.pendingBytes >= WRITE_AT_ONCE_BYTES) {
      try {
        this.writePending();
      } catch (err) {
        // Rejects every waiter of the group, this append's included.
        this.fail(err as Error, []);
      }
    }
    return done;
  }

  /** A retried batch: acknowledged with the original offsets once those are acknowledged themselves. */
  private answerDuplicate(firstOffset: number, lastOffset: number): Promise<AppendResult> {
    const result: AppendResult = { baseOffset: firstOffset, lastOffset, logAppendTime: -1, logStartOffset: this.startOffset, duplicate: true };
    if (lastOffset < this.hw) return Promise.resolve(result);
    return this.enqueue(result);
  }

  private addPiece(seg: Segment, piece: Buffer): void {
    let run = this.pending[this.pending.length - 1];
    if (!run || run.seg !== seg) {
      run = { seg, iov: [], lens: [], bytes: 0 };
      this.pending.push(run);
    }
    run.bytes += piece.length;
    this.pendingBytes += piece.length;
    const i = run.iov.length - 1;
    const last = run.iov[i];
    if (last && last.buffer === piece.buffer && last.byteOffset + run.lens[i]! === piece.byteOffset) {
      run.lens[i]! += piece.length;
    } else {
      run.iov.push(piece);
      run.lens.push(piece.length);
    }
  }

  private static views(run: Run): Buffer[] {
    return run.iov.map((b, i) => (b.length === run.lens[i] ? b : Buffer.from(b.buffer, b.byteOffset, run.lens[i])));
  }

  /** Writes all of `iov` (several writev calls past IOV_MAX, finishing short writes piece by piece). */
  private writeAll(fd: number, iov: Buffer[]): void {
    for (let i = 0; i < iov.length; i += IOV_MAX) {
      const part = iov.length <= IOV_MAX ? iov : iov.slice(i, i + IOV_MAX);
      let written = writevSync(fd, part);
      this.counters.writes++;
      for (const b of part) {
        if (written >= b.length) {
          written -= b.length;
          continue;
        }
        let off = written;
        written = 0;
        while (off < b.length) {
          off += writeSync(fd, b, off, b.length - off);
          this.counters.writes++;
        }
      }
    }
  }

  private maybeRoll(size: number, lastOffsetDelta: number, now: number): void {
    const seg = this.active;
    if (seg.isEmpty) return;
    if (
      seg.size + size > this.config.segmentBytes ||
      now - seg.rollTimestamp >= this.config.segmentMs ||
      this.nextOffset + lastOffsetDelta - seg.baseOffset > INT32_MAX ||
      seg.indexEntries >= this.config.maxIndexEntries
    ) {
      this.roll();
    }
  }

  private roll(): void {
    const old = this.active;
    old.finishIndexes();
    old.nextOffset = this.nextOffset;
    this.segments.push(Segment.create(this.dir, this.nextOffset));
    if (this.fsync === 'always') syncDir(this.dir);
    this.writeSnapshot();
  }

  /** Writes the pending runs (one write per segment touched); the group's waiters stay queued. */
  private writePending(): void {
    const runs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const r of runs) {
      this.writeAll(r.seg.handle, Partition.views(r));
      r.seg.writtenSize += r.bytes;
      r.seg.dirty = true;
      this.groupSegs.add(r.seg);
    }
  }

  /** Writes what the group still has pending, then acknowledges it or queues its fsync. */
  flush(): void {
    if (this.pending.length === 0 && this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    const end = this.nextOffset;
    try {
      this.writePending();
      for (const s of this.groupSegs) s.maybeFlushIndexes();
      if (this.bytesSinceSnapshot >= SNAPSHOT_EVERY_BYTES) this.writeSnapshot();
    } catch (err) {
      this.groupSegs = new Set();
      this.fail(err as Error, waiters);
      return;
    }
    const segs = this.groupSegs;
    this.groupSegs = new Set();
    if (segs.size > 0) this.counters.groups++;
    if (this.fsync === 'always') {
      this.syncQueue.push({ waiters, segs, end });
      this.startSync();
    } else {
      this.acknowledge(end, waiters);
    }
  }

  private startSync(): void {
    if (this.syncing || this.syncQueue.length === 0) return;
    const items = this.syncQueue;
    this.syncQueue = [];
    this.syncing = true;
    const segs = new Set<Segment>();
    for (const it of items) for (const s of it.segs) segs.add(s);
    this.counters.syncs += segs.size;
    Promise.all([...segs].map((s) => s.sync())).then(
      () => {
        this.syncing = false;
        for (const it of items) this.acknowledge(it.end, it.waiters);
        this.startSync();
      },
      (err: Error) => {
        this.syncing = false;
        this.fail(err, items.flatMap((it) => it.waiters));
      },
    );
  }

  private acknowledge(end: number, waiters: Waiter[]): void {
    if (end > this.hw) this.hw = end;
    for (const w of waiters) {
      w.result.logStartOffset = this.startOffset;
      w.resolve(w.result);
    }
    this.wakeListeners();
  }

  /** Long polls wake on new data, and also when the partition goes away (they then see the error). */
  private wakeListeners(): void {
    if (this.listeners.size === 0) return;
    const ls = [...this.listeners];
    this.listeners.clear();
    for (const l of ls) {
      try {
        l();
      } catch (err) {
        // A failing long poll must not break the group commit that woke it.
        this.logger.error('onAppend callback threw', { dir: this.dir, err });
      }
    }
  }

  /** A write or sync failed: offsets were promised that may not be on disk; refuse further appends. */
  private fail(err: Error, waiters: Waiter[]): void {
    this.failed = err;
    this.logger.error('log write failed; partition refuses further appends', { dir: this.dir, err });
    const e = new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, `write to ${this.dir} failed: ${err.message}`);
    for (const w of [...waiters, ...this.waiters]) w.reject(e);
    this.waiters = [];
    this.pending = [];
    this.pendingBytes = 0;
  }

  onAppend(cb: () => void): () => void {
    const wrapped = (): void => cb();
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }

  // ---- reads ----

  read(offset: number, requestedMaxBytes: number, isolation: IsolationLevel = 'read_uncommitted', buffers?: ReadBuffers): ReadResult {
    this.assertUsable();
    // Zero, negative or garbage limits still return one batch, as Kafka does for maxBytes 0.
    const maxBytes = Number.isFinite(requestedMaxBytes) && requestedMaxBytes > 0 ? requestedMaxBytes : 1;
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.hw) {
      throw new LogError(LogErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${this.startOffset}, ${this.hw}] of ${this.topic}-${this.index}`);
    }
    const lso = this.lastStableOffset;
    const limit = isolation === 'read_committed' ? lso : this.hw;
    const result: ReadResult = {
      chunks: [],
      bytes: 0,
      highWatermark: this.hw,
      lastStableOffset: lso,
      logStartOffset: this.startOffset,
      abortedTransactions: [],
    };
    if (offset >= limit) return result;
    let got = this.tail.read(offset, limit, maxBytes);
    if (got) this.counters.cacheReads++;
    else {
      got = this.readFiles(offset, limit, maxBytes, buffers ?? this.readSlab);
      this.counters.fileReads++;
    }
    result.chunks = got.chunks;
    result.bytes = got.bytes;
    if (isolation === 'read_committed' && got.bytes > 0) result.abortedTransactions = this.producers.abortedIn(offset, got.nextOffset);
    return result;
  }

  private readFiles(offset: number, limit: number, maxBytes: number, buffers: ReadBuffers): { chunks: Buffer[]; bytes: number; nextOffset: number } {
    for (let i = segmentIndexFor(this.segments, offset); i < this.segments.length; i++) {
      const got = readSegment(this.segments[i]!, offset, limit, maxBytes, buffers);
      if (got) return { chunks: [got.buf], bytes: got.buf.length, nextOffset: got.nextOffset };
    }
    return { chunks: [], bytes: 0, nextOffset: offset };
  }

  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    this.assertUsable();
    for (let i = segmentIndexFor(this.segments, this.startOffset); i < this.segments.length; i++) {
      const found = findTimestamp(this.segments[i]!, ts, this.startOffset, this.hw);
      if (found) return found;
    }
    return null;
  }

  // ---- deletion and retention ----

  deleteRecordsBefore(offset: number): number {
    this.assertUsable();
    const target = offset === -1 ? this.hw : offset;
    if (!Number.isSafeInteger(target) || target < 0 || target > this.hw) {
      throw new LogError(LogErrorCode.OFFSET_OUT_OF_RANGE, `cannot delete records before ${offset}: high watermark is ${this.hw}`);
    }
    if (target <= this.startOffset) return this.startOffset;
    this.startOffset = target;
    this.writeLogStart();
    // Everything acknowledged is below the new start: start a fresh segment so the old one can go too.
    if (target === this.nextOffset && !this.active.isEmpty && this.pending.length === 0 && !this.syncing) this.roll();
    this.deleteSegmentsBelowStart();
    this.producers.prune(this.startOffset);
    return this.startOffset;
  }

  private deleteSegmentsBelowStart(): void {
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.startOffset && this.canDelete(this.segments[0]!)) {
      this.deleteOldest('log start offset');
    }
  }

  private canDelete(seg: Segment): boolean {
    return seg !== this.active && !this.pending.some((r) => r.seg === seg);
  }

  private deleteOldest(reason: string): void {
    const seg = this.segments.shift()!;
    seg.delete();
    this.logger.debug('deleted segment', { dir: this.dir, base: seg.baseOffset, reason });
  }

  /**
   * Applies retention: deletes whole non-active segments past `retention.ms` (by their largest timestamp)
   * or beyond `retention.bytes`, and those below the log start offset. Returns how many were deleted.
   */
  enforceRetention(now = Date.now()): number {
    if (this.closed) return 0;
    this.producers.expire(now, PRODUCER_EXPIRY_MS);
    const before = this.segments.length;
    this.deleteSegmentsBelowStart();
    if (this.config.deleteRetention) {
      const { retentionMs, retentionBytes } = this.config;
      if (retentionMs >= 0) {
        while (this.segments.length > 1 && this.canDelete(this.segments[0]!)) {
          const seg = this.segments[0]!;
          const ts = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.rollTimestamp;
          if (now - ts <= retentionMs) break;
          this.deleteOldest('retention.ms');
        }
      }
      if (retentionBytes >= 0) {
        let excess = this.sizeBytes() - retentionBytes;
        while (this.segments.length > 1 && this.canDelete(this.segments[0]!) && excess - this.segments[0]!.size >= 0) {
          excess -= this.segments[0]!.size;
          this.deleteOldest('retention.bytes');
        }
      }
    }
    const deleted = before - this.segments.length;
    if (deleted > 0 && this.segments[0]!.baseOffset > this.startOffset) {
      this.startOffset = this.segments[0]!.baseOffset;
      this.writeLogStart();
      this.producers.prune(this.startOffset);
    }
    if (this.config.compact) this.compact(now);
    return deleted;
  }

  /**
   * Compacts the segments before the active one, once per roll. Returns the records removed.
   * Segments with writes or syncs in flight wait for the next pass.
   */
  compact(now = Date.now()): number {
    if (this.closed || this.segments.length < 2 || this.active.baseOffset === this.compactedBefore) return 0;
    const candidates = this.segments.slice(0, -1).filter((s) => this.canDelete(s) && !s.busy);
    if (candidates.length === 0) return 0;
    const latest = latestOffsets(this.segments);
    let removed = 0;
    for (const seg of candidates) {
      const maxTs = seg.maxTimestamp;
      const dropTombstones = maxTs >= 0 && now - maxTs > this.config.deleteRetentionMs;
      const n = cleanSegment(seg, `${seg.logPath}.tmp`, { latest, dropTombstones, fsync: this.fsync === 'always' });
      if (n > 0) seg.replaceWith(`${seg.logPath}.tmp`);
      removed += n;
    }
    this.compactedBefore = this.active.baseOffset;
    // Cached batches may predate the rewrite; later reads go to the compacted files.
    if (removed > 0) this.tail.clear();
    return removed;
  }

  // ---- syncing and closing ----

  /** fdatasync of segments written since their last sync (the `interval` policy's timer). */
  syncDirty(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const dirty = this.segments.filter((s) => s.dirty);
    this.counters.syncs += dirty.length;
    return Promise.all(dirty.map((s) => s.sync())).then(() => undefined);
  }

  private async drain(): Promise<void> {
    this.flush();
    while (this.syncing || this.syncQueue.length > 0) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Flushes, fsyncs and closes every file; later appends are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Refuse new appends first, so that everything accepted is in the drain below.
    this.closed = true;
    await this.drain();
    try {
      await Promise.all(this.segments.filter((s) => s.dirty || s === this.active).map((s) => s.sync()));
    } catch (err) {
      this.logger.warn('fsync at close failed', { dir: this.dir, err });
    }
    this.active.finishIndexes();
    this.writeSnapshot();
    for (const s of this.segments) s.close();
    this.tail.clear();
    this.wakeListeners();
  }

  /** Closes and removes the partition's directory contents (topic deletion). */
  async destroy(): Promise<void> {
    this.closed = true;
    this.deleted = true;
    await this.drain();
    for (const s of this.segments) s.close();
    this.segments = [];
    this.tail.clear();
    const reject = new LogError(LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${this.topic}-${this.index} was deleted`);
    for (const w of this.waiters) w.reject(reject);
    this.waiters = [];
    this.wakeListeners();
  }
}
