import { appendFileSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, openPartitionLog, type StandalonePartitionLog } from '../../src/log/index.js';
import { batchOf, silent, tempDir } from './helpers.js';

const LOG0 = '00000000000000000000.log';

function valuesOf(p: StandalonePartitionLog, from = p.logStartOffset): string[] {
  const out: string[] = [];
  let o = from;
  while (o < p.logEndOffset) {
    const batches = decodeRecordBatches(Buffer.concat(p.read(o, 1 << 20).chunks), { verifyCrc: true });
    for (const b of batches) for (const r of b.records) if (r.offset >= o) out.push(r.value!.toString());
    o = batches[batches.length - 1]!.lastOffset + 1;
  }
  return out;
}

/** Writes `n` one-record batches and closes without a clean shutdown of the indexes' tail. */
async function fill(dir: string, n: number, config: Record<string, string> = {}): Promise<number[]> {
  const p = await openPartitionLog(dir, { 'index.interval.bytes': '200', ...config }, { logger: silent });
  const positions: number[] = [];
  for (let i = 0; i < n; i++) {
    positions.push(p.sizeBytes());
    await p.append(batchOf([`m${i}`.padEnd(100, '.')]));
  }
  await p.close();
  return positions;
}

describe('recovery', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('drops garbage after the last batch and appends at the right offset', async () => {
    await fill(t.dir, 20);
    const size = statSync(join(t.dir, LOG0)).size;
    appendFileSync(join(t.dir, LOG0), Buffer.from('this is not a record batch at all, just junk bytes from a crash'));
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(statSync(join(t.dir, LOG0)).size).toBe(size);
    expect(p.logEndOffset).toBe(20);
    expect((await p.append(batchOf(['next']))).baseOffset).toBe(20);
    expect(valuesOf(p).at(-1)).toBe('next');
    expect(valuesOf(p)).toHaveLength(21);
    await p.close();
  });

  it('truncates a torn half batch', async () => {
    const positions = await fill(t.dir, 20);
    const size = statSync(join(t.dir, LOG0)).size;
    const lastBatch = size - positions[19]!;
    truncateSync(join(t.dir, LOG0), size - Math.floor(lastBatch / 2));
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(p.logEndOffset).toBe(19);
    expect(statSync(join(t.dir, LOG0)).size).toBe(positions[19]);
    expect((await p.append(batchOf(['again']))).baseOffset).toBe(19);
    expect(valuesOf(p).slice(-2)).toEqual(['m18'.padEnd(100, '.'), 'again']);
    await p.close();
  });

  it('truncates at a batch whose CRC fails (flipped byte), keeping everything before it', async () => {
    const positions = await fill(t.dir, 20);
    const path = join(t.dir, LOG0);
    const bytes = readFileSync(path);
    bytes[positions[19]! + 80] ^= 0x40; // inside the last batch's records
    writeFileSync(path, bytes);
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(p.logEndOffset).toBe(19);
    expect(valuesOf(p)).toHaveLength(19);
    expect((await p.append(batchOf(['after-crc']))).baseOffset).toBe(19);
    await p.close();
  });

  it('scans the whole tail segment when no index entry survived', async () => {
    const positions = await fill(t.dir, 20);
    const path = join(t.dir, LOG0);
    const bytes = readFileSync(path);
    bytes[positions[15]! + 80] ^= 0x40;
    writeFileSync(path, bytes);
    unlinkSync(join(t.dir, '00000000000000000000.index'));
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(p.logEndOffset).toBe(15);
    expect(valuesOf(p)).toHaveLength(15);
    expect((await p.append(batchOf(['after-crc']))).baseOffset).toBe(15);
    await p.close();
  });

  it('survives index entries that point past the surviving log (index written, log not)', async () => {
    const positions = await fill(t.dir, 40);
    truncateSync(join(t.dir, LOG0), positions[10]!);
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(p.logEndOffset).toBe(10);
    for (let o = 0; o < 10; o++) expect(valuesOf(p, o)[0]).toBe(`m${o}`.padEnd(100, '.'));
    expect((await p.append(batchOf(['x']))).baseOffset).toBe(10);
    await p.close();
  });

  it('rebuilds missing or corrupt index files of older segments', async () => {
    await fill(t.dir, 30, { 'segment.bytes': '1200' });
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '1200' }, { logger: silent });
    const bases = q.segmentBaseOffsets();
    await q.close();
    expect(bases.length).toBeGreaterThan(3);
    const name = (b: number) => join(t.dir, String(b).padStart(20, '0'));
    unlinkSync(`${name(bases[0]!)}.index`);
    unlinkSync(`${name(bases[0]!)}.timeindex`);
    writeFileSync(`${name(bases[1]!)}.index`, Buffer.from('garbage!garbage!garbage'));
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '1200' }, { logger: silent, tailCacheBytes: 0 });
    const values = valuesOf(p);
    expect(values).toHaveLength(30);
    expect(values[7]).toBe('m7'.padEnd(100, '.'));
    expect(existsSync(`${name(bases[0]!)}.index`)).toBe(true);
    expect(p.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: expect.any(Number) });
    await p.close();
  });

  it('an empty tail segment after a crash continues at its base offset', async () => {
    await fill(t.dir, 10, { 'segment.bytes': '500' });
    const p = await openPartitionLog(t.dir, { 'segment.bytes': '500' }, { logger: silent });
    const bases = p.segmentBaseOffsets();
    await p.close();
    const tail = join(t.dir, `${String(bases.at(-1)).padStart(20, '0')}.log`);
    truncateSync(tail, 0);
    const q = await openPartitionLog(t.dir, { 'segment.bytes': '500' }, { logger: silent });
    expect(q.logEndOffset).toBe(bases.at(-1));
    expect((await q.append(batchOf(['y']))).baseOffset).toBe(bases.at(-1));
    await q.close();
  });
});

describe('recovery after a crash during a roll', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('drops an empty tail segment when the previous one lost its unacknowledged end', async () => {
    const positions = await fill(t.dir, 12, { 'segment.bytes': '100000' });
    // Simulate: the roll created segment 12 but the last two batches of segment 0 never reached the file.
    truncateSync(join(t.dir, LOG0), positions[10]!);
    writeFileSync(join(t.dir, `${String(12).padStart(20, '0')}.log`), Buffer.alloc(0));
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(p.segmentBaseOffsets()).toEqual([0]);
    expect(p.logEndOffset).toBe(10);
    expect((await p.append(batchOf(['contiguous']))).baseOffset).toBe(10);
    expect(valuesOf(p)).toHaveLength(11);
    await p.close();
  });

  it('keeps an empty tail segment that follows its predecessor exactly', async () => {
    await fill(t.dir, 12, { 'segment.bytes': '100000' });
    writeFileSync(join(t.dir, `${String(12).padStart(20, '0')}.log`), Buffer.alloc(0));
    const p = await openPartitionLog(t.dir, {}, { logger: silent });
    expect(p.segmentBaseOffsets()).toEqual([0, 12]);
    expect((await p.append(batchOf(['next']))).baseOffset).toBe(12);
    await p.close();
  });
});

describe('indexes after recovery', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('stay consistent through repeated crash, append and reopen cycles', async () => {
    let expected: string[] = [];
    for (let round = 0; round < 4; round++) {
      const p = await openPartitionLog(t.dir, { 'index.interval.bytes': '150', 'segment.bytes': '6000' }, { logger: silent, tailCacheBytes: 0 });
      expect(valuesOf(p)).toEqual(expected);
      for (let i = 0; i < 25; i++) {
        const v = `r${round}-${i}`.padEnd(90, '#');
        await p.append(batchOf([v]));
        expected.push(v);
      }
      for (let o = 0; o < p.logEndOffset; o += 3) expect(valuesOf(p, o)[0]).toBe(expected[o]);
      if (round % 2 === 0) {
        // Crash: no close; tear the last batch of the tail segment.
        const bases = p.segmentBaseOffsets();
        const tail = join(t.dir, `${String(bases.at(-1)).padStart(20, '0')}.log`);
        const size = statSync(tail).size;
        if (size > 0) {
          truncateSync(tail, size - 10);
          expected = expected.slice(0, -1);
        }
      } else {
        await p.close();
      }
    }
  });
});
