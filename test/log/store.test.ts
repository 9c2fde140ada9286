import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, LogError, LogErrorCode } from '../../src/log/index.js';
import { batchOf, openStore, tempDir } from './helpers.js';

describe('log store: append and read', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('appends batches, assigns offsets and reads them back verbatim', async () => {
    const store = await openStore(t.dir);
    store.createTopic('orders', { partitions: 2 });
    const p = store.partition('orders', 1)!;
    const r1 = await p.append(batchOf(['a', 'b', 'c']));
    const r2 = await p.append(batchOf(['d']));
    expect(r1).toMatchObject({ baseOffset: 0, lastOffset: 2, duplicate: false, logAppendTime: -1 });
    expect(r2).toMatchObject({ baseOffset: 3, lastOffset: 3 });
    expect(p.logEndOffset).toBe(4);
    const read = p.read(0, 1 << 20);
    expect(read.highWatermark).toBe(4);
    expect(read.lastStableOffset).toBe(4);
    const batches = decodeRecordBatches(Buffer.concat(read.chunks), { verifyCrc: true });
    expect(batches.map((b) => b.baseOffset)).toEqual([0, 3]);
    expect(batches.flatMap((b) => b.records.map((r) => r.value!.toString()))).toEqual(['a', 'b', 'c', 'd']);
    expect(batches[0]!.records[1]!.offset).toBe(1);
    expect(batches[0]!.records[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }]);
    // From the middle of a batch: the whole batch holding the offset comes back.
    const mid = decodeRecordBatches(Buffer.concat(p.read(1, 100).chunks));
    expect(mid.map((b) => b.baseOffset)).toEqual([0]);
    expect(p.read(4, 100).chunks).toEqual([]);
    expect(() => p.read(5, 100)).toThrow(LogError);
    await store.closeAll();

    const again = await openStore(t.dir);
    const q = again.partition('orders', 1)!;
    expect(q.logEndOffset).toBe(4);
    const back = decodeRecordBatches(Buffer.concat(q.read(3, 100).chunks), { verifyCrc: true });
    expect(back[0]!.records[0]!.value!.toString()).toBe('d');
    expect((await q.append(batchOf(['e']))).baseOffset).toBe(4);
    expect(again.partition('orders', 0)!.logEndOffset).toBe(0);
    await again.closeAll();
  });

  it('rejects a batch with a bad CRC with CORRUPT_MESSAGE and stores nothing', async () => {
    const store = await openStore(t.dir);
    store.createTopic('t', { partitions: 1 });
    const p = store.partition('t', 0)!;
    const b = batchOf(['hello']);
    b[b.length - 1] ^= 0xff;
    await expect(p.append(b)).rejects.toMatchObject({ code: LogErrorCode.CORRUPT_MESSAGE });
    expect(p.logEndOffset).toBe(0);
    await store.closeAll();
  });
});
