import { describe, expect, it } from 'vitest';
import { countRecords, KafkaTraffic } from '../../../src/protocol/kafka/traffic.js';

/** A v2 batch header of `length` bytes in all (no real records: only the fields countRecords reads). */
function fakeBatch(records: number, length = 61 + records): Buffer {
  const b = Buffer.alloc(length);
  b.writeInt32BE(length - 12, 8);
  b.writeInt32BE(records, 57);
  return b;
}

describe('Kafka traffic counters', () => {
  it('counts records from each batch header and ignores a truncated trailing batch', () => {
    expect(countRecords(Buffer.concat([fakeBatch(3), fakeBatch(5)]))).toBe(8);
    expect(countRecords(Buffer.concat([fakeBatch(2), fakeBatch(7).subarray(0, 30)]))).toBe(2);
    expect(countRecords(Buffer.concat([fakeBatch(2), fakeBatch(7).subarray(0, 64)]))).toBe(2);
    expect(countRecords(Buffer.alloc(0))).toBe(0);
  });

  it('keeps one counter object per partition and forgets a deleted topic', () => {
    const t = new KafkaTraffic();
    const c = t.slot(t.topic('a'), 2);
    c.recordsIn += 4;
    expect(t.slot(t.topic('a'), 2)).toBe(c);
    expect(t.get('a')?.[2]?.recordsIn).toBe(4);
    expect(t.get('a')?.[0]).toBeUndefined();
    t.forget('a');
    expect(t.get('a')).toBeUndefined();
  });
});
