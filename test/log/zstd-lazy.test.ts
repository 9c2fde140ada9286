import { describe, expect, it } from 'vitest';
import { zstd, encodeRecordBatch, decodeRecordBatches } from '../../src/log/index.js';

// This file never calls initCodecs(): zstd must load on its first use, synchronously.
describe('zstd loads on first use', () => {
  it('decodes a zstd batch with no set-up call', () => {
    const value = Buffer.from('railyard '.repeat(200));
    const batch = encodeRecordBatch({ compression: 'zstd', records: [{ value }, { key: Buffer.from('k'), value }] });
    expect(batch.length).toBeLessThan(value.length);
    const [decoded] = decodeRecordBatches(batch);
    expect(decoded!.records.map((r) => r.value?.toString())).toEqual([value.toString(), value.toString()]);
  });

  it('round-trips through the codec itself', () => {
    const data = Buffer.alloc(100_000, 7);
    expect(zstd.decompress(zstd.compress(data)).equals(data)).toBe(true);
  });
});
