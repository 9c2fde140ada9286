import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../../src/http/partitioner.js';

describe('partitioner', () => {
  it("computes Kafka murmur2 (vectors from Kafka's own UtilsTest)", () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it('maps a key to a partition in range, the same way every time', () => {
    for (const n of [1, 3, 7, 100]) {
      const p = partitionForKey(Buffer.from('user-42'), n);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(n);
      expect(partitionForKey(Buffer.from('user-42'), n)).toBe(p);
    }
  });
});
