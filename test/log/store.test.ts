import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, LogError, LogErrorCode, writeBatchCrc } from '../../src/log/index.js';
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

describe('append validation', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('rejects malformed input with the Kafka error codes, storing nothing', async () => {
    const store = await openStore(t.dir);
    store.createTopic('v', { partitions: 1, configs: { 'max.message.bytes': '5000', 'segment.bytes': '3000' } });
    const p = store.partition('v', 0)!;
    const good = batchOf(['ok']);
    const cases: [Buffer, number][] = [
      [Buffer.alloc(0), LogErrorCode.CORRUPT_MESSAGE],
      [good.subarray(0, 40), LogErrorCode.CORRUPT_MESSAGE],
      [good.subarray(0, good.length - 1), LogErrorCode.CORRUPT_MESSAGE],
      [Buffer.concat([good, good.subarray(0, 20)]), LogErrorCode.CORRUPT_MESSAGE],
      [batchOf(['x'.repeat(6000)]), LogErrorCode.MESSAGE_TOO_LARGE],
      [batchOf(['x'.repeat(4000)]), LogErrorCode.RECORD_LIST_TOO_LARGE],
    ];
    const magic1 = Buffer.from(good);
    magic1[16] = 1;
    cases.push([magic1, LogErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT]);
    const magic9 = Buffer.from(good);
    magic9[16] = 9;
    cases.push([magic9, LogErrorCode.CORRUPT_MESSAGE]);
    const badLength = Buffer.from(good);
    badLength.writeInt32BE(10, 8);
    cases.push([badLength, LogErrorCode.CORRUPT_MESSAGE]);
    const badCount = Buffer.from(good);
    badCount.writeInt32BE(1000, 57);
    writeBatchCrc(badCount, 0);
    cases.push([badCount, LogErrorCode.INVALID_RECORD]);
    const badCodec = Buffer.from(good);
    badCodec.writeInt16BE(6, 21);
    writeBatchCrc(badCodec, 0);
    cases.push([badCodec, LogErrorCode.UNSUPPORTED_COMPRESSION_TYPE]);
    for (const [buf, code] of cases) await expect(p.append(buf)).rejects.toMatchObject({ code });
    expect(p.logEndOffset).toBe(0);
    // Several batches in one append get consecutive offsets.
    expect(await p.append(Buffer.concat([good, batchOf(['a', 'b'])]))).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    await store.closeAll();
  });

  it('refuses appends after close and after the topic is deleted', async () => {
    const store = await openStore(t.dir);
    store.createTopic('gone', { partitions: 1 });
    store.createTopic('kept', { partitions: 1 });
    const gone = store.partition('gone', 0)!;
    const kept = store.partition('kept', 0)!;
    let woken = 0;
    gone.onAppend(() => woken++);
    await store.deleteTopic('gone');
    expect(woken).toBe(1); // a parked long poll wakes up and sees the error
    await expect(gone.append(batchOf(['x']))).rejects.toMatchObject({ code: LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    expect(() => gone.read(0, 100)).toThrow(expect.objectContaining({ code: LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION }));
    await store.closeAll();
    await expect(kept.append(batchOf(['x']))).rejects.toMatchObject({ code: LogErrorCode.KAFKA_STORAGE_ERROR });
    expect(() => kept.read(0, 100)).toThrow(expect.objectContaining({ code: LogErrorCode.KAFKA_STORAGE_ERROR }));
  });

  it('names bad broker-wide topic defaults as an invalid argument', async () => {
    await expect(openStore(t.dir, { topicDefaults: { 'retention.ms': 'forever' } })).rejects.toThrow(/kafka\.topicDefaults/);
  });
});
