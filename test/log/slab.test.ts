import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, openPartitionLog } from '../../src/log/index.js';
import { BlockPool, LeasedSlab } from '../../src/log/slab.js';
import { batchOf, silent, tempDir } from './helpers.js';

describe('BlockPool and LeasedSlab', () => {
  it('hands out slices of pooled blocks and reuses the blocks once released', () => {
    const pool = new BlockPool(1024, 4);
    const a = new LeasedSlab(pool);
    const x = a.alloc(600);
    const y = a.alloc(600); // does not fit the first block's rest
    expect(a.blockCount).toBe(2);
    expect(x.buffer).not.toBe(y.buffer);
    a.shrinkLast(y, 100);
    const z = a.alloc(200);
    expect(z.buffer).toBe(y.buffer);
    expect(z.byteOffset).toBe(y.byteOffset + 100);
    a.release();
    expect(pool.freeCount).toBe(2);
    const b = new LeasedSlab(pool);
    const w = b.alloc(10);
    expect([x.buffer, y.buffer]).toContain(w.buffer);
    // Larger than a block: a buffer of its own, never pooled.
    expect(b.alloc(5000).length).toBe(5000);
    expect(b.blockCount).toBe(1);
  });

  it('keeps at most maxFree blocks and drops them after an idle trim period', () => {
    const pool = new BlockPool(64, 2);
    const s = new LeasedSlab(pool);
    for (let i = 0; i < 5; i++) s.alloc(64);
    s.release();
    expect(pool.freeCount).toBe(2);
    pool.trim(); // blocks were taken since the last trim: kept
    expect(pool.freeCount).toBe(2);
    pool.trim();
    expect(pool.freeCount).toBe(0);
  });
});

describe('reads into caller buffers', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('puts file reads in the given buffers and keeps no reference to them', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 0 });
    for (let i = 0; i < 5; i++) await p.append(batchOf([`v${i}`]));
    const pool = new BlockPool(64 * 1024, 4);
    const lease = new LeasedSlab(pool);
    const r = p.read(1, 1 << 20, 'read_uncommitted', lease);
    expect(lease.blockCount).toBe(1);
    expect(r.chunks.every((c) => pool.freeCount === 0 && c.buffer.byteLength === 64 * 1024)).toBe(true);
    const values = (chunks: Buffer[]) => decodeRecordBatches(Buffer.concat(chunks), { verifyCrc: true }).flatMap((b) => b.records.map((x) => x.value!.toString()));
    expect(values(r.chunks)).toEqual(['v1', 'v2', 'v3', 'v4']);
    lease.release();
    // The next read may land in the same block; the log still serves correct bytes.
    const again = new LeasedSlab(pool);
    expect(values(p.read(0, 1 << 20, 'read_uncommitted', again).chunks)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    await p.close();
  });
});
