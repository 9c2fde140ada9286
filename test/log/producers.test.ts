import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { decodeRecordBatches, encodeControlBatch, encodeRecordBatch, LogErrorCode, openPartitionLog } from '../../src/log/index.js';
import { silent, tempDir } from './helpers.js';

function idem(producerId: number, epoch: number, seq: number, values: string[], transactional = false): Buffer {
  return encodeRecordBatch({ producerId, producerEpoch: epoch, baseSequence: seq, transactional, records: values.map((value) => ({ value })) });
}

describe('idempotent producers', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('answers a retried batch with its original offsets and stores nothing', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    const first = await p.append(idem(1000, 0, 0, ['a', 'b']));
    await p.append(idem(1000, 0, 2, ['c']));
    const again = await p.append(idem(1000, 0, 0, ['a', 'b']));
    expect(again).toMatchObject({ baseOffset: first.baseOffset, lastOffset: first.lastOffset, duplicate: true });
    expect(p.logEndOffset).toBe(3);
    // A retry sent in the same turn as the original waits for it and still gets the same offsets.
    const [x, y] = await Promise.all([p.append(idem(1000, 0, 3, ['d'])), p.append(idem(1000, 0, 3, ['d']))]);
    expect(x).toMatchObject({ baseOffset: 3, duplicate: false });
    expect(y).toMatchObject({ baseOffset: 3, duplicate: true });
    expect(p.logEndOffset).toBe(4);
    await p.close();
  });

  it('rejects sequence gaps, stale epochs and non-zero sequences on a new epoch', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    // A producer the partition has never seen may start anywhere (Kafka 2.5+).
    await p.append(idem(7, 3, 10, ['a']));
    await expect(p.append(idem(7, 3, 12, ['gap']))).rejects.toMatchObject({ code: LogErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    await expect(p.append(idem(7, 2, 11, ['old']))).rejects.toMatchObject({ code: LogErrorCode.INVALID_PRODUCER_EPOCH });
    await expect(p.append(idem(7, 4, 5, ['bump']))).rejects.toMatchObject({ code: LogErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    await p.append(idem(7, 4, 0, ['bumped']));
    await p.append(idem(7, 4, 1, ['next']));
    expect(p.logEndOffset).toBe(3);
    // Sequences wrap from 2^31-1 to 0.
    await p.append(idem(8, 0, 2147483646, ['x', 'y']));
    await p.append(idem(8, 0, 0, ['wrapped']));
    expect(p.logEndOffset).toBe(6);
    await p.close();
  });

  it('forgets producers idle for longer than a day (retention pass), keeping open transactions', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    await p.append(idem(11, 0, 0, ['a']));
    await p.append(idem(12, 0, 0, ['t'], true));
    expect(p.stats().producers).toBe(2);
    p.enforceRetention(Date.now() + 2 * 24 * 3600 * 1000);
    expect(p.stats().producers).toBe(1);
    // The forgotten producer is new again: any sequence is accepted, no duplicate detection.
    expect(await p.append(idem(11, 0, 0, ['a']))).toMatchObject({ duplicate: false, baseOffset: 2 });
    await p.close();
  });

  it('rebuilds producer state on reopen (from the snapshot, and from the log after a crash)', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    await p.append(idem(5, 0, 0, ['a']));
    await p.append(idem(5, 0, 1, ['b']));
    await p.close();
    const q = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(await q.append(idem(5, 0, 1, ['b']))).toMatchObject({ baseOffset: 1, duplicate: true });
    await expect(q.append(idem(5, 0, 5, ['c']))).rejects.toMatchObject({ code: LogErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    await q.append(idem(5, 0, 2, ['c']));
    // No close: the snapshot on disk is older than the log, so the batches after it are replayed.
    const r = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(await r.append(idem(5, 0, 2, ['c']))).toMatchObject({ baseOffset: 2, duplicate: true });
    await r.close();
    await q.close();
  });
});

describe('transactions', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('holds the last stable offset at the first open transaction and reports aborted ones', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    await p.append(encodeRecordBatch({ records: [{ value: 'plain' }] })); // 0
    await p.append(idem(1, 0, 0, ['t1a', 't1b'], true)); // 1-2 (txn of producer 1)
    await p.append(idem(2, 0, 0, ['t2'], true)); // 3 (txn of producer 2)
    expect(p.lastStableOffset).toBe(1);
    expect(p.logEndOffset).toBe(4);
    const committed = p.read(0, 1 << 20, 'read_committed');
    expect(committed.lastStableOffset).toBe(1);
    expect(decodeRecordBatches(Buffer.concat(committed.chunks)).map((b) => b.baseOffset)).toEqual([0]);
    expect(p.read(1, 1 << 20, 'read_committed').chunks).toEqual([]);
    expect(decodeRecordBatches(Buffer.concat(p.read(0, 1 << 20).chunks))).toHaveLength(3);

    await p.append(encodeControlBatch({ producerId: 1, producerEpoch: 0, commit: false })); // 4: abort txn 1
    expect(p.lastStableOffset).toBe(3);
    await p.append(encodeControlBatch({ producerId: 2, producerEpoch: 0, commit: true })); // 5: commit txn 2
    expect(p.lastStableOffset).toBe(6);
    const all = p.read(0, 1 << 20, 'read_committed');
    expect(all.abortedTransactions).toEqual([{ producerId: 1, firstOffset: 1 }]);
    expect(p.read(5, 1 << 20, 'read_committed').abortedTransactions).toEqual([]);
    // A marker for a producer without an open transaction is stored and changes nothing else.
    await p.append(encodeControlBatch({ producerId: 2, producerEpoch: 0, commit: true }));
    expect(p.lastStableOffset).toBe(7);
    await p.close();

    const q = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(q.lastStableOffset).toBe(q.logEndOffset);
    expect(q.read(0, 1 << 20, 'read_committed').abortedTransactions).toEqual([{ producerId: 1, firstOffset: 1 }]);
    await q.close();
  });

  it('control batches with an older epoch are fenced', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    await p.append(idem(9, 3, 0, ['a'], true));
    await expect(p.append(encodeControlBatch({ producerId: 9, producerEpoch: 2, commit: true }))).rejects.toMatchObject({ code: LogErrorCode.INVALID_PRODUCER_EPOCH });
    await p.close();
  });
});

async function reopened(dir: string) {
  const q = await openPartitionLog(dir, { 'message.timestamp.type': 'LogAppendTime' }, { logger: silent, tailCacheBytes: 0 });
  const r = q.read(0, 1 << 20);
  await q.close();
  return r;
}

describe('LogAppendTime', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('stamps maxTimestamp and the timestamp-type bit, recomputing a valid CRC, records untouched', async () => {
    const p = await openPartitionLog(t.dir, { 'message.timestamp.type': 'LogAppendTime' }, { logger: silent });
    const sent = encodeRecordBatch({ compression: 'gzip', records: [{ value: 'a', timestamp: 5 }, { value: 'b', timestamp: 6 }] });
    const before = Date.now();
    const res = await p.append(sent);
    expect(res.logAppendTime).toBeGreaterThanOrEqual(before);
    const stored = Buffer.concat(p.read(0, 1000).chunks);
    const [b] = decodeRecordBatches(stored, { verifyCrc: true });
    expect(b!.timestampType).toBe('LogAppendTime');
    expect(b!.maxTimestamp).toBe(res.logAppendTime);
    expect(b!.records.map((r) => r.timestamp)).toEqual([res.logAppendTime, res.logAppendTime]);
    // Compressed records are stored byte for byte as sent.
    expect(stored.subarray(61).equals(sent.subarray(61))).toBe(true);
    expect(crc32c(stored.subarray(21))).toBe(stored.readUInt32BE(17));
    await p.close();
  });

  it('patches big batches (records not copied) with a CRC chained over header and records', async () => {
    const p = await openPartitionLog(t.dir, { 'message.timestamp.type': 'LogAppendTime' }, { logger: silent });
    const values = Array.from({ length: 50 }, () => randomBytes(250).toString('hex'));
    const sent = encodeRecordBatch({ compression: 'lz4', records: values.map((value) => ({ value, timestamp: 5 })) });
    expect(sent.length).toBeGreaterThan(4096);
    const copy = Buffer.from(sent);
    const res = await p.append(sent);
    expect(sent.equals(copy)).toBe(true); // the caller's buffer is left alone
    for (const stored of [Buffer.concat(p.read(0, 1 << 20).chunks), Buffer.concat((await reopened(t.dir)).chunks)]) {
      const [b] = decodeRecordBatches(stored, { verifyCrc: true });
      expect(b!.maxTimestamp).toBe(res.logAppendTime);
      expect(b!.records).toHaveLength(50);
      expect(b!.records.map((r) => r.value!.toString())).toEqual(values);
    }
    await p.close();
  });

  it('CreateTime topics keep the producer bytes except baseOffset and leader epoch', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    await p.append(encodeRecordBatch({ records: [{ value: 'first' }] }));
    const sent = encodeRecordBatch({ records: [{ value: 'a', timestamp: 5 }] });
    await p.append(sent);
    const stored = Buffer.concat(p.read(1, 1000).chunks);
    expect(stored.readBigInt64BE(0)).toBe(1n);
    expect(stored.subarray(16).equals(sent.subarray(16))).toBe(true);
    await p.close();
  });
});

describe('producer snapshots', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('falls back to the previous snapshot when the newest is ahead of what survived a crash', async () => {
    const cfg = { 'segment.bytes': '400' };
    const p = await openPartitionLog(t.dir, cfg, { logger: silent });
    for (let seq = 0; seq < 12; seq++) await p.append(idem(77, 0, seq, [`v${seq}`.padEnd(60, '.')]));
    const bases = p.segmentBaseOffsets();
    const snapshots = readdirSync(t.dir).filter((f) => f.endsWith('.snapshot')).sort();
    expect(snapshots).toHaveLength(2);
    expect(snapshots.at(-1)).toBe(`${String(bases.at(-1)).padStart(20, '0')}.snapshot`);
    // Crash just after the last roll: the new segment is empty and the one before lost its last batch.
    const tailBase = bases.at(-1)!;
    const prevBase = bases.at(-2)!;
    truncateSync(join(t.dir, `${String(tailBase).padStart(20, '0')}.log`), 0);
    const prevLog = join(t.dir, `${String(prevBase).padStart(20, '0')}.log`);
    const prevBatches = decodeRecordBatches(readFileSync(prevLog));
    truncateSync(prevLog, statSync(prevLog).size - prevBatches.at(-1)!.sizeInBytes);
    const end = prevBatches.at(-1)!.baseOffset;

    const q = await openPartitionLog(t.dir, cfg, { logger: silent });
    expect(q.logEndOffset).toBe(end);
    // Sequence `end - 1` is known (a retry is a duplicate); a gap is refused, so the state is not empty.
    expect(await q.append(idem(77, 0, end - 1, [`v${end - 1}`.padEnd(60, '.')]))).toMatchObject({ duplicate: true, baseOffset: end - 1 });
    await expect(q.append(idem(77, 0, end + 1, ['gap']))).rejects.toMatchObject({ code: LogErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect((await q.append(idem(77, 0, end, ['next']))).baseOffset).toBe(end);
    await q.close();
    await p.close().catch(() => undefined);
  });
});

describe('timestamp bounds', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('rejects CreateTime batches outside message.timestamp.before/after.max.ms with INVALID_TIMESTAMP', async () => {
    const p = await openPartitionLog(t.dir, { 'message.timestamp.before.max.ms': '60000', 'message.timestamp.after.max.ms': '1000' }, { logger: silent });
    const now = Date.now();
    await expect(p.append(encodeRecordBatch({ records: [{ value: 'old', timestamp: now - 120_000 }] }))).rejects.toMatchObject({ code: LogErrorCode.INVALID_TIMESTAMP });
    await expect(p.append(encodeRecordBatch({ records: [{ value: 'a', timestamp: now }, { value: 'future', timestamp: now + 60_000 }] }))).rejects.toMatchObject({ code: LogErrorCode.INVALID_TIMESTAMP });
    expect((await p.append(encodeRecordBatch({ records: [{ value: 'fine', timestamp: now - 30_000 }] }))).baseOffset).toBe(0);
    await p.close();
    // LogAppendTime topics replace the timestamps, so the producer's are not judged.
    const d = tempDir();
    const q = await openPartitionLog(d.dir, { 'message.timestamp.type': 'LogAppendTime', 'message.timestamp.before.max.ms': '1' }, { logger: silent });
    expect((await q.append(encodeRecordBatch({ records: [{ value: 'old', timestamp: 5 }] }))).baseOffset).toBe(0);
    await q.close();
    d.cleanup();
  });
});
