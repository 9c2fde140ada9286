import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, openPartitionLog } from '../../src/log/index.js';
import { batchOf, openStore, silent, tempDir } from './helpers.js';

describe('group commit', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  for (const fsync of ['never', 'interval', 'always'] as const) {
    it(`writes every append of one event-loop turn with one write (fsync ${fsync})`, async () => {
      const p = await openPartitionLog(t.dir, {}, { logger: silent, fsync });
      const promises = [];
      for (let i = 0; i < 100; i++) promises.push(p.append(batchOf([`v${i}`])));
      // Nothing is written during the turn, and nothing is readable before it is acknowledged.
      expect(statSync(join(t.dir, '00000000000000000000.log')).size).toBe(0);
      expect(p.logEndOffset).toBe(0);
      const results = await Promise.all(promises);
      expect(results.map((r) => r.baseOffset)).toEqual([...Array(100).keys()]);
      expect(p.stats()).toMatchObject({ writes: 1, groups: 1, syncs: fsync === 'always' ? 1 : 0 });
      expect(p.logEndOffset).toBe(100);
      expect(decodeRecordBatches(Buffer.concat(p.read(0, 1 << 20).chunks))).toHaveLength(100);
      await p.close();
    });
  }

  it('under fsync always, appends arriving during an fsync form the next group', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent, fsync: 'always' });
    const first = [p.append(batchOf(['a'])), p.append(batchOf(['b']))];
    // Next turn: the first group has been written and its fdatasync is in flight.
    await new Promise((r) => setImmediate(r));
    expect(p.stats().writes).toBe(1);
    const second = [p.append(batchOf(['c'])), p.append(batchOf(['d'])), p.append(batchOf(['e']))];
    await Promise.all([...first, ...second]);
    const s = p.stats();
    expect(s.groups).toBe(2);
    expect(s.writes).toBe(2);
    expect(s.syncs).toBeLessThanOrEqual(2);
    expect(s.syncs).toBeGreaterThanOrEqual(1);
    await p.close();
  });

  it('one write per partition per turn across a store', async () => {
    const s = await openStore(t.dir);
    s.createTopic('g', { partitions: 3 });
    const all = [];
    for (let i = 0; i < 30; i++) all.push(s.partition('g', i % 3)!.append(batchOf([`x${i}`])));
    await Promise.all(all);
    for (let i = 0; i < 3; i++) {
      const stats = (s.partition('g', i) as unknown as { stats(): { writes: number } }).stats();
      expect(stats.writes).toBe(1);
      expect(s.partition('g', i)!.logEndOffset).toBe(10);
    }
    await s.closeAll();
  });

  it('serves tail reads from memory and older reads from the files, with the same bytes', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 4096 });
    for (let i = 0; i < 50; i++) await p.append(batchOf([`value-${i}`.padEnd(200, '.')]));
    const tailRead = p.read(48, 1 << 20);
    expect(p.stats().cacheReads).toBe(1);
    const oldRead = p.read(0, 1 << 20);
    expect(p.stats().fileReads).toBe(1);
    const tailBytes = Buffer.concat(tailRead.chunks);
    const fileBytes = Buffer.concat(oldRead.chunks);
    expect(fileBytes.subarray(fileBytes.length - tailBytes.length).equals(tailBytes)).toBe(true);
    expect(decodeRecordBatches(fileBytes)).toHaveLength(50);
    for (const bad of [0, -5, Number.NaN]) expect(decodeRecordBatches(Buffer.concat(p.read(0, bad).chunks))).toHaveLength(1);
    // maxBytes limits the answer to whole batches (at least one).
    const one = p.read(0, 10);
    expect(decodeRecordBatches(Buffer.concat(one.chunks))).toHaveLength(1);
    const some = p.read(0, 1000);
    expect(some.bytes).toBeLessThanOrEqual(1000);
    expect(decodeRecordBatches(Buffer.concat(some.chunks)).length).toBeGreaterThan(1);
    // A buffer handed out earlier is never overwritten by later appends or reads.
    const snapshot = Buffer.from(fileBytes);
    for (let i = 0; i < 50; i++) await p.append(batchOf([`later-${i}`.padEnd(300, '!')]));
    p.read(0, 1 << 20);
    expect(fileBytes.equals(snapshot)).toBe(true);
    expect(Buffer.concat(tailRead.chunks).equals(tailBytes)).toBe(true);
    await p.close();
  });

  it('stores the same big buffer appended several times at distinct offsets, in memory and on disk', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 1 << 20 });
    const big = batchOf(['r'.repeat(10_000), 's'.repeat(10_000)]);
    const copy = Buffer.from(big);
    const results = await Promise.all([p.append(big), p.append(big), p.append(big)]);
    expect(results.map((r) => r.baseOffset)).toEqual([0, 2, 4]);
    expect(big.equals(copy)).toBe(true);
    const fromCache = p.read(0, 1 << 20);
    expect(p.stats().cacheReads).toBe(1);
    await p.close();
    const q = await openPartitionLog(t.dir, {}, { logger: silent });
    const fromFile = q.read(0, 1 << 20);
    expect(Buffer.concat(fromCache.chunks).equals(Buffer.concat(fromFile.chunks))).toBe(true);
    const batches = decodeRecordBatches(Buffer.concat(fromFile.chunks), { verifyCrc: true });
    expect(batches.map((b) => b.baseOffset)).toEqual([0, 2, 4]);
    expect(batches.every((b) => b.records[1]!.value!.toString() === 's'.repeat(10_000))).toBe(true);
    await q.close();
  });

  it('does not let the tail cache pin large request buffers that batches were cut from', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 1 << 20 });
    const batch = batchOf(['q'.repeat(6000)]);
    const frame = Buffer.alloc(4 << 20);
    batch.copy(frame, 100);
    await p.append(frame.subarray(100, 100 + batch.length));
    const r = p.read(0, 1 << 20);
    expect(p.stats()).toMatchObject({ cacheReads: 0, fileReads: 1 });
    expect(decodeRecordBatches(Buffer.concat(r.chunks), { verifyCrc: true })[0]!.records[0]!.value!.toString()).toBe('q'.repeat(6000));
    // A batch in a buffer of its own is cached.
    await p.append(batchOf(['r'.repeat(6000)]));
    p.read(1, 1 << 20);
    expect(p.stats().cacheReads).toBe(1);
    await p.close();
  });

  it('splits a group of more than IOV_MAX pieces over several writev calls', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    const batches = Array.from({ length: 700 }, (_, i) => batchOf([`${i}`.padEnd(5000, '~')]));
    // One append of 700 batches: separate appends this large would each be written at once.
    const result = await p.append(Buffer.concat(batches));
    expect(result.lastOffset).toBe(699);
    // 700 big batches = 1400 pieces (header + records), contiguous headers are not adjacent: 2 writev calls.
    expect(p.stats().writes).toBe(2);
    await p.close();
    const q = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 0 });
    let n = 0;
    for (let o = 0; o < 700; o = decodeRecordBatches(Buffer.concat(q.read(o, 1 << 20).chunks)).at(-1)!.lastOffset + 1) n++;
    expect(decodeRecordBatches(Buffer.concat(q.read(699, 1).chunks), { verifyCrc: true })[0]!.records[0]!.value!.toString()).toBe('699'.padEnd(5000, '~'));
    expect(n).toBeGreaterThan(1);
    await q.close();
  });

  it('writes a large append at once but acknowledges it with the rest of the turn\'s group', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    const small = p.append(batchOf(['small']));
    expect(p.stats().writes).toBe(0);
    const big = p.append(batchOf(Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(5000, '~'))));
    // The big append's bytes (and the small one queued before it) went down in one write already...
    expect(p.stats().writes).toBe(1);
    // ...but nothing is acknowledged or readable before the group ends.
    expect(p.logEndOffset).toBe(0);
    const later = p.append(batchOf(['after']));
    const [a, b, c] = await Promise.all([small, big, later]);
    expect([a.baseOffset, b.baseOffset, c.baseOffset]).toEqual([0, 1, 65]);
    expect(p.stats().writes).toBe(2);
    expect(p.stats().groups).toBe(1);
    expect(p.logEndOffset).toBe(66);
    await p.close();
    const q = await openPartitionLog(t.dir, {}, { logger: silent, tailCacheBytes: 0 });
    const got = decodeRecordBatches(Buffer.concat(q.read(0, 1 << 20).chunks), { verifyCrc: true });
    expect(got.map((x) => x.records.length)).toEqual([1, 64, 1]);
    expect(got[2]!.records[0]!.value!.toString()).toBe('after');
    await q.close();
  });

  it('wakes long polls on the next acknowledged append, once', async () => {
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    let calls = 0;
    p.onAppend(() => calls++);
    const cancel = p.onAppend(() => calls += 100);
    cancel();
    p.onAppend(() => {
      throw new Error('a broken listener');
    });
    await p.append(batchOf(['a']));
    await p.append(batchOf(['b']));
    expect(calls).toBe(1);
    expect(p.logEndOffset).toBe(2);
    await p.close();
  });
});

describe('closing', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  for (const fsync of ['never', 'always'] as const) {
    it(`close() acknowledges what was accepted and refuses what comes after (fsync ${fsync})`, async () => {
      const p = await openPartitionLog(t.dir, {}, { logger: silent, fsync });
      const accepted = [p.append(batchOf(['a'])), p.append(batchOf(['b']))];
      const closing = p.close();
      const late = p.append(batchOf(['late']));
      await expect(late).rejects.toMatchObject({ code: 56 });
      expect((await Promise.all(accepted)).map((r) => r.baseOffset)).toEqual([0, 1]);
      await closing;
      const q = await openPartitionLog(t.dir, {}, { logger: silent });
      expect(q.logEndOffset).toBe(2);
      await q.close();
    });
  }
});
