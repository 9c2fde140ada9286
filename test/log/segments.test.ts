import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeRecordBatches, LogErrorCode, openPartitionLog, encodeRecordBatch, writeBatchCrc } from '../../src/log/index.js';
import { batchOf, silent, tempDir } from './helpers.js';

function valuesOf(chunks: Buffer[]): string[] {
  return decodeRecordBatches(Buffer.concat(chunks), { verifyCrc: true }).flatMap((b) => b.records.map((r) => r.value!.toString()));
}

describe('segments', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('rolls by segment.bytes, names files by base offset and reads across segments', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '1000', 'index.interval.bytes': '100' }, { logger: silent, tailCacheBytes: 0 });
    const value = 'v'.repeat(150);
    for (let i = 0; i < 40; i++) await p.append(batchOf([`${i}:${value}`]));
    const bases = p.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(5);
    expect(bases[0]).toBe(0);
    const files = readdirSync(t.dir).filter((f) => f.endsWith('.log')).sort();
    expect(files).toEqual(bases.map((b) => `${String(b).padStart(20, '0')}.log`));
    for (const f of files) expect(statSync(join(t.dir, f)).size).toBeLessThanOrEqual(1000);
    expect(existsSync(join(t.dir, '00000000000000000000.index'))).toBe(true);
    expect(existsSync(join(t.dir, '00000000000000000000.timeindex'))).toBe(true);
    // Every offset is found, in whatever segment it lives.
    for (let o = 0; o < 40; o++) {
      const r = p.read(o, 1);
      expect(valuesOf(r.chunks)[0]).toBe(`${o}:${value}`);
    }
    // A large read starting in one segment returns that segment's batches from the offset.
    const all = p.read(3, 1 << 20);
    expect(valuesOf(all.chunks)[0]).toBe(`3:${value}`);
    await p.close();

    // Reopen: older segments trust their index files; reads still work everywhere.
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '1000', 'index.interval.bytes': '100' }, { logger: silent, tailCacheBytes: 0 });
    expect(q.segmentBaseOffsets()).toEqual(bases);
    expect(q.logEndOffset).toBe(40);
    for (let o = 0; o < 40; o += 7) expect(valuesOf(q.read(o, 1).chunks)[0]).toBe(`${o}:${value}`);
    await q.close();
  });

  it('looks up offsets through sparse indexes over many segments (many small batches)', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '20000', 'index.interval.bytes': '512' }, { logger: silent, tailCacheBytes: 0 });
    const n = 2000;
    const pending = [];
    for (let i = 0; i < n; i++) pending.push(p.append(batchOf([`m${i}`, `m${i}b`])));
    await Promise.all(pending);
    expect(p.logEndOffset).toBe(2 * n);
    expect(p.segmentBaseOffsets().length).toBeGreaterThan(5);
    for (let o = 0; o < 2 * n; o += 37) {
      const vals = valuesOf(p.read(o, 50).chunks);
      const i = Math.floor(o / 2);
      expect(vals[0]).toBe(`m${i}`);
    }
    await p.close();
  });

  it('rolls by segment.ms, judged by the first batch timestamp', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.ms': '60000' }, { logger: silent });
    const old = Date.now() - 120_000;
    await p.append(encodeRecordBatch({ records: [{ value: 'old', timestamp: old }] }));
    await p.append(encodeRecordBatch({ records: [{ value: 'new' }] }));
    await p.append(encodeRecordBatch({ records: [{ value: 'newer' }] }));
    expect(p.segmentBaseOffsets()).toEqual([0, 1]);
    await p.close();
  });

  it('deletes segments past retention.ms, never the active one, and moves the log start offset', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '300', 'retention.ms': '60000' }, { logger: silent });
    const now = Date.now();
    for (let i = 0; i < 6; i++) await p.append(encodeRecordBatch({ records: [{ value: 'x'.repeat(200), timestamp: now - 600_000 + i }] }));
    for (let i = 0; i < 2; i++) await p.append(encodeRecordBatch({ records: [{ value: 'y'.repeat(200), timestamp: now } ] }));
    expect(p.segmentBaseOffsets()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(p.enforceRetention(now)).toBe(6);
    expect(p.segmentBaseOffsets()).toEqual([6, 7]);
    expect(p.logStartOffset).toBe(6);
    expect(() => p.read(5, 100)).toThrow(expect.objectContaining({ code: LogErrorCode.OFFSET_OUT_OF_RANGE }));
    expect(valuesOf(p.read(6, 100).chunks)[0]).toMatch(/^y/);
    // Far in the future everything is expired, but the active segment stays.
    expect(p.enforceRetention(now + 3_600_000)).toBe(1);
    expect(p.segmentBaseOffsets()).toEqual([7]);
    await p.close();
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '300' }, { logger: silent });
    expect(q.logStartOffset).toBe(7);
    expect(q.logEndOffset).toBe(8);
    await q.close();
  });

  it('retention.ms=-1 keeps everything; cleanup.policy=compact disables time retention', async () => {
    const configs: Record<string, string>[] = [{ 'retention.ms': '-1' }, { 'cleanup.policy': 'compact', 'retention.ms': '1' }];
    for (const cfg of configs) {
      const d = tempDir();
      const p = await openPartitionLog(d.dir, { 'segment.bytes': '300', ...cfg }, { logger: silent });
      for (let i = 0; i < 4; i++) await p.append(encodeRecordBatch({ records: [{ key: `k${i}`, value: 'x'.repeat(200), timestamp: 1000 + i }] }));
      expect(p.enforceRetention()).toBe(0);
      await p.close();
      d.cleanup();
    }
  });

  it('deletes the oldest segments beyond retention.bytes', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '300', 'retention.bytes': '700' }, { logger: silent });
    for (let i = 0; i < 6; i++) await p.append(batchOf(['z'.repeat(200)]));
    const segSize = p.sizeBytes() / 6;
    expect(p.segmentBaseOffsets()).toHaveLength(6);
    p.enforceRetention();
    // Kafka's rule: drop a segment only if the log stays at or above retention.bytes without it.
    expect(p.sizeBytes()).toBeGreaterThanOrEqual(700);
    expect(p.sizeBytes() - segSize).toBeLessThan(700);
    expect(p.logStartOffset).toBe(p.segmentBaseOffsets()[0]);
    await p.close();
  });

  it('deleteRecordsBefore moves and persists the log start offset and deletes whole segments below it', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '300' }, { logger: silent });
    for (let i = 0; i < 6; i++) await p.append(batchOf([`r${i}`.padEnd(200, '.')]));
    expect(p.segmentBaseOffsets()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p.deleteRecordsBefore(3)).toBe(3);
    expect(p.segmentBaseOffsets()).toEqual([3, 4, 5]);
    expect(p.deleteRecordsBefore(2)).toBe(3);
    expect(() => p.deleteRecordsBefore(99)).toThrow(expect.objectContaining({ code: LogErrorCode.OFFSET_OUT_OF_RANGE }));
    expect(readFileSync(join(t.dir, 'log-start-offset'), 'utf8')).toBe('3');
    await p.close();
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '300' }, { logger: silent });
    expect(q.logStartOffset).toBe(3);
    expect(() => q.read(2, 10)).toThrow(expect.objectContaining({ code: LogErrorCode.OFFSET_OUT_OF_RANGE }));
    // -1: everything; the active segment is rolled so that it can be deleted too (the AMQP queue case).
    expect(q.deleteRecordsBefore(-1)).toBe(6);
    expect(q.segmentBaseOffsets()).toEqual([6]);
    expect(q.read(6, 10).chunks).toEqual([]);
    expect((await q.append(batchOf(['after']))).baseOffset).toBe(6);
    await q.close();
  });

  it('deleteRecordsBefore inside a segment keeps it but hides earlier offsets', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    await p.append(batchOf(['a', 'b', 'c']));
    await p.append(batchOf(['d']));
    expect(p.deleteRecordsBefore(2)).toBe(2);
    expect(p.segmentBaseOffsets()).toEqual([0]);
    // The batch holding offset 2 starts at 0: it is returned whole, as Kafka does.
    const r = p.read(2, 1000);
    expect(r.logStartOffset).toBe(2);
    expect(decodeRecordBatches(Buffer.concat(r.chunks))[0]!.baseOffset).toBe(0);
    await p.close();
  });

  it('offsetForTimestamp finds the first record at or after a timestamp, inside batches and across segments', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '400', 'index.interval.bytes': '1' }, { logger: silent, tailCacheBytes: 0 });
    const base = 1_700_000_000_000;
    // 10 batches of 3 records, timestamps base + 10*i + {0,1,2}
    for (let i = 0; i < 10; i++) {
      await p.append(
        encodeRecordBatch({
          compression: i % 2 ? 'lz4' : 'none',
          records: [0, 1, 2].map((j) => ({ value: `v${i}.${j}`.padEnd(60, '-'), timestamp: base + 10 * i + j })),
        }),
      );
    }
    expect(p.segmentBaseOffsets().length).toBeGreaterThan(2);
    expect(p.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: base });
    expect(p.offsetForTimestamp(base + 31)).toEqual({ offset: 10, timestamp: base + 31 });
    expect(p.offsetForTimestamp(base + 35)).toEqual({ offset: 12, timestamp: base + 40 });
    expect(p.offsetForTimestamp(base + 92)).toEqual({ offset: 29, timestamp: base + 92 });
    expect(p.offsetForTimestamp(base + 93)).toBeNull();
    await p.close();
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '400' }, { logger: silent });
    expect(q.offsetForTimestamp(base + 55)).toEqual({ offset: 18, timestamp: base + 60 });
    await q.close();
  });
});

describe('background work and unusual indexes', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('runs retention and interval fsync on timers', async () => {
    const p = await openPartitionLog(
      t.dir,
      { 'segment.bytes': '300', 'retention.ms': '1000' },
      { logger: silent, fsync: 'interval', fsyncIntervalMs: 10, retentionCheckIntervalMs: 10 },
    );
    for (let i = 0; i < 4; i++) await p.append(encodeRecordBatch({ records: [{ value: 'x'.repeat(200), timestamp: 1000 + i }] }));
    await vi.waitFor(() => {
      expect(p.segmentBaseOffsets()).toEqual([3]);
      expect(p.stats().syncs).toBeGreaterThan(0);
    }, { timeout: 5000, interval: 10 });
    expect(p.logStartOffset).toBe(3);
    await p.close();
  });

  it('reads correctly without any index entry (the scan continues past the first read window)', async () => {
    const p = await openPartitionLog(t.dir, { 'index.interval.bytes': '2000000000' }, { logger: silent, tailCacheBytes: 0 });
    const all = [];
    for (let i = 0; i < 3000; i++) all.push(p.append(batchOf([`n${i}`.padEnd(60, '_')])));
    await Promise.all(all);
    expect(p.sizeBytes()).toBeGreaterThan(200_000);
    for (let o = 0; o < 3000; o += 149) expect(valuesOf(p.read(o, 10).chunks)).toEqual([`n${o}`.padEnd(60, '_')]);
    expect(valuesOf(p.read(2999, 10).chunks)).toEqual([`n2999`.padEnd(60, '_')]);
    await p.close();
  });

  it('rolls when the offset index is full (segment.index.bytes)', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.index.bytes': '16', 'index.interval.bytes': '1' }, { logger: silent });
    for (let i = 0; i < 9; i++) await p.append(batchOf([`i${i}`]));
    // Two index entries per segment: the first batch sits at position 0 and needs none.
    expect(p.segmentBaseOffsets()).toEqual([0, 3, 6]);
    await p.close();
  });

  it('returns at least one whole batch even when it is larger than maxBytes and the read window', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 0 });
    await p.append(batchOf(['small']));
    const big = 'B'.repeat(300_000);
    await p.append(batchOf([big]));
    await p.append(batchOf(['after']));
    expect(valuesOf(p.read(1, 1).chunks)).toEqual([big]);
    expect(valuesOf(p.read(0, 100).chunks)).toEqual(['small']);
    expect(valuesOf(p.read(0, 1 << 20).chunks)).toEqual(['small', big, 'after']);
    await p.close();
  });
});

describe('file descriptors', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const openFds = () => readdirSync('/proc/self/fd').length;

  it('opens old segments only when they are read (Linux: counts /proc/self/fd)', async () => {
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '300' }, { logger: silent });
    for (let i = 0; i < 30; i++) await p.append(batchOf([`s${i}`.padEnd(200, '.')]));
    expect(p.segmentBaseOffsets()).toHaveLength(30);
    await p.close();
    const before = openFds();
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '300' }, { logger: silent, tailCacheBytes: 0 });
    expect(openFds() - before).toBeLessThanOrEqual(3);
    expect(valuesOf(q.read(5, 10).chunks)[0]).toBe('s5'.padEnd(200, '.'));
    expect(openFds() - before).toBeLessThanOrEqual(4);
    await q.close();
    expect(openFds()).toBeLessThanOrEqual(before);
  });
});

describe('batches without timestamps', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('timestamp lookups and retention leave the active segment and its index alone', async () => {
    const p = await openPartitionLog(t.dir, { 'index.interval.bytes': '1' }, { logger: silent, tailCacheBytes: 0 });
    for (let i = 0; i < 20; i++) {
      const b = batchOf([`x${i}`]);
      // maxTimestamp -1 (as old-format producers send), CRC fixed up.
      b.writeInt32BE(-1, 35);
      b.writeInt32BE(-1, 39);
      writeBatchCrc(b, 0);
      await p.append(b);
    }
    expect(p.offsetForTimestamp(0)).toBeNull();
    expect(p.enforceRetention()).toBe(0);
    for (let o = 0; o < 20; o += 4) expect(valuesOf(p.read(o, 1).chunks)).toEqual([`x${o}`]);
    await p.close();
  });
});

describe('transient appends', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('keep no reference to the caller buffer once settled: overwriting it changes nothing read back', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    const big = 'b'.repeat(8000); // above the size the log copies whole, so the records would be referenced
    await p.append(batchOf(['small-0']));
    const reused = Buffer.from(batchOf([`${big}-1`, `${big}-2`]));
    const appended = p.append(reused, { transient: true });
    await appended;
    reused.fill(0xee);
    await p.append(batchOf(['small-3']));
    expect(valuesOf(p.read(0, 1 << 20).chunks)).toEqual(['small-0', `${big}-1`, `${big}-2`, 'small-3']);
    expect(valuesOf(p.read(1, 1 << 20).chunks)[0]).toBe(`${big}-1`);
    // Reads from the tail cache resume after the transient append: only batches appended since are cached.
    expect(valuesOf(p.read(3, 1 << 20).chunks)).toEqual(['small-3']);
    await p.close();
  });
});
