import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeControlBatch, encodeRecordBatch, LogErrorCode, openPartitionLog, type StandalonePartitionLog } from '../../src/log/index.js';
import { silent, tempDir } from './helpers.js';

function all(p: StandalonePartitionLog): { offset: number; key: string; value: string | null }[] {
  const out: { offset: number; key: string; value: string | null }[] = [];
  let offset = p.logStartOffset;
  while (offset < p.logEndOffset) {
    const batches = decodeRecordBatches(Buffer.concat(p.read(offset, 1 << 20).chunks), { verifyCrc: true });
    if (batches.length === 0) break;
    for (const b of batches) {
      for (const r of b.records) if (r.offset >= offset && !b.isControl) out.push({ offset: r.offset, key: r.key!.toString(), value: r.value?.toString() ?? null });
      offset = b.lastOffset + 1;
    }
  }
  return out;
}

const put = (key: string, value: string | null, opts: Partial<Parameters<typeof encodeRecordBatch>[0]> = {}) =>
  encodeRecordBatch({ ...opts, records: [{ key, value: value === null ? null : value.padEnd(120, '.') }] });

describe('compaction (cleanup.policy=compact)', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('keeps the latest record per key in older segments, with their offsets', async () => {
    const p = await openPartitionLog(t.dir, { 'cleanup.policy': 'compact', 'segment.bytes': '1000' }, { logger: silent, tailCacheBytes: 0 });
    const writes: [string, string][] = [];
    for (let i = 0; i < 40; i++) writes.push([`k${i % 5}`, `v${i}`]);
    for (const [k, v] of writes) await p.append(put(k, v));
    const before = all(p);
    expect(before).toHaveLength(40);
    expect(p.compact()).toBeGreaterThan(0);
    const after = all(p);
    // Every key's latest value survives at its original offset.
    for (let k = 0; k < 5; k++) {
      const last = before.filter((r) => r.key === `k${k}`).at(-1)!;
      expect(after).toContainEqual(last);
    }
    // Older segments hold no superseded records; the active segment is untouched.
    const activeBase = p.segmentBaseOffsets().at(-1)!;
    const old = after.filter((r) => r.offset < activeBase);
    const latestOffset = new Map(before.map((r) => [r.key, r.offset]));
    for (const r of old) expect(latestOffset.get(r.key)).toBe(r.offset);
    expect(after.filter((r) => r.offset >= activeBase)).toEqual(before.filter((r) => r.offset >= activeBase));
    // Offsets are preserved: reading a removed offset gives the next surviving record.
    expect(p.compact()).toBe(0); // nothing new since the last pass
    await p.close();
    const q = await openPartitionLog(t.dir, { 'cleanup.policy': 'compact', 'segment.bytes': '1000' }, { logger: silent });
    expect(all(q)).toEqual(after);
    expect(q.logEndOffset).toBe(40);
    expect((await q.append(put('k1', 'new'))).baseOffset).toBe(40);
    await q.close();
  });

  it('re-encodes partly kept batches with their compression, producer fields and offset span', async () => {
    const p = await openPartitionLog(t.dir, { 'cleanup.policy': 'compact', 'segment.bytes': '2000' }, { logger: silent, tailCacheBytes: 0 });
    await p.append(
      encodeRecordBatch({
        compression: 'gzip',
        producerId: 9,
        producerEpoch: 1,
        baseSequence: 0,
        records: [
          { key: 'a', value: '1', headers: [{ key: 'h', value: 'x' }] },
          { key: 'b', value: '2' },
          { key: 'c', value: '3' },
        ],
      }),
    );
    for (let i = 0; i < 20; i++) await p.append(put('b', `b${i}`));
    p.compact();
    const [first] = decodeRecordBatches(Buffer.concat(p.read(0, 1).chunks), { verifyCrc: true });
    expect(first).toMatchObject({ baseOffset: 0, lastOffset: 2, compression: 1, producerId: 9, producerEpoch: 1, baseSequence: 0 });
    expect(first!.records.map((r) => [r.offset, r.key!.toString()])).toEqual([
      [0, 'a'],
      [2, 'c'],
    ]);
    expect(first!.records[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }]);
    // The idempotent producer's sequence state is intact: its next batch continues at 3.
    expect((await p.append(encodeRecordBatch({ producerId: 9, producerEpoch: 1, baseSequence: 3, records: [{ key: 'd', value: '4' }] }))).duplicate).toBe(false);
    await p.close();
  });

  it('drops tombstones only after delete.retention.ms; keeps control batches', async () => {
    const p = await openPartitionLog(t.dir, { 'cleanup.policy': 'compact', 'segment.bytes': '600', 'delete.retention.ms': '60000' }, { logger: silent, tailCacheBytes: 0 });
    const now = Date.now();
    await p.append(put('gone', 'v', { records: [{ key: 'gone', value: 'v', timestamp: now }] }));
    await p.append(encodeRecordBatch({ records: [{ key: 'gone', value: null, timestamp: now }] }));
    await p.append(encodeRecordBatch({ producerId: 4, producerEpoch: 0, baseSequence: 0, transactional: true, records: [{ key: 'tx', value: 'in a txn' }] }));
    await p.append(encodeControlBatch({ producerId: 4, producerEpoch: 0, commit: true }));
    for (let i = 0; i < 8; i++) await p.append(put(`other${i}`, 'x'));
    p.compact(now);
    let rows = all(p);
    expect(rows.filter((r) => r.key === 'gone')).toEqual([{ offset: 1, key: 'gone', value: null }]);
    // An hour later a new segment has rolled; the tombstone is old enough to go.
    await p.append(put('late', 'x'));
    for (let i = 0; i < 8; i++) await p.append(put(`more${i}`, 'x'));
    p.compact(now + 3_600_000);
    rows = all(p);
    expect(rows.filter((r) => r.key === 'gone')).toEqual([]);
    expect(rows.filter((r) => r.key === 'tx')).toHaveLength(1);
    const controls = decodeRecordBatches(Buffer.concat(p.read(3, 1).chunks)).filter((b) => b.isControl);
    expect(controls).toHaveLength(1);
    await p.close();
  });

  it('refuses records without a key on compacted topics (INVALID_RECORD)', async () => {
    const p = await openPartitionLog(t.dir, { 'cleanup.policy': 'compact' }, { logger: silent });
    await expect(p.append(encodeRecordBatch({ compression: 'snappy', records: [{ key: 'k', value: 'a' }, { value: 'no key' }] }))).rejects.toMatchObject({
      code: LogErrorCode.INVALID_RECORD,
    });
    expect(p.logEndOffset).toBe(0);
    await p.close();
  });

  it('runs with the retention pass for compact,delete topics', async () => {
    const p = await openPartitionLog(t.dir, { 'cleanup.policy': 'compact,delete', 'segment.bytes': '800', 'retention.ms': '-1' }, { logger: silent, tailCacheBytes: 0 });
    for (let i = 0; i < 30; i++) await p.append(put('same', `v${i}`));
    const size = p.sizeBytes();
    p.enforceRetention();
    expect(p.sizeBytes()).toBeLessThan(size / 2);
    expect(all(p).at(-1)).toMatchObject({ offset: 29, key: 'same' });
    await p.close();
  });
});
