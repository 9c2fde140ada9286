/**
 * Randomised operations against a simple model of the log (offset → value): appends of small and big
 * batches, reads through the tail cache and the files, DeleteRecords, retention, clean reopen and
 * crash-style reopen. Seeded, so a failure is reproducible.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeControlBatch, encodeRecordBatch, openPartitionLog, type StandalonePartitionLog } from '../../src/log/index.js';
import { silent, tempDir } from './helpers.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const CONFIG = { 'segment.bytes': '20000', 'index.interval.bytes': '300', 'retention.bytes': '60000' };

describe('log model', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  for (const seed of (process.env.LOG_MODEL_SEEDS ?? "1,2,3").split(",").map(Number)) {
    it(`matches the model through 250 random operations (seed ${seed})`, async () => {
      const rnd = prng(seed);
      const model = new Map<number, string>();
      let start = 0;
      let end = 0;
      const fsync = (['never', 'interval', 'always'] as const)[seed % 3]!;
      const open = () => openPartitionLog(t.dir, CONFIG, { logger: silent, fsync, tailCacheBytes: 3000, retentionCheckIntervalMs: 3_600_000 });
      let p: StandalonePartitionLog = await open();
      const abandoned: StandalonePartitionLog[] = [];
      // One idempotent producer; its last batch is resent now and then, as a client retry would.
      let seq = 0;
      let lastIdem: { batch: Buffer; baseOffset: number; lastOffset: number } | null = null;

      for (let op = 0; op < 250; op++) {
        const r = rnd();
        if (r < 0.5) {
          // A turn of 1-4 appends, each of 1-3 records, some big enough to be written zero-copy.
          const n = 1 + Math.floor(rnd() * 4);
          const pending: Promise<{ baseOffset: number }>[] = [];
          const expected: string[][] = [];
          for (let i = 0; i < n; i++) {
            const count = 1 + Math.floor(rnd() * 3);
            const size = rnd() < 0.2 ? 2000 + Math.floor(rnd() * 3000) : 10 + Math.floor(rnd() * 200);
            const values = Array.from({ length: count }, (_, j) => `${op}.${i}.${j}:`.padEnd(size, String.fromCharCode(97 + ((op + j) % 26))));
            expected.push(values);
            const idempotent = rnd() < 0.3;
            const batch = encodeRecordBatch({
              compression: rnd() < 0.3 ? 'lz4' : 'none',
              records: values.map((value) => ({ value })),
              ...(idempotent ? { producerId: 500, producerEpoch: 0, baseSequence: seq } : {}),
            });
            if (idempotent) seq += count;
            pending.push(
              p.append(batch).then((res) => {
                if (idempotent) lastIdem = { batch, baseOffset: res.baseOffset, lastOffset: res.lastOffset };
                return res;
              }),
            );
          }
          const results = await Promise.all(pending);
          results.forEach((res, i) => {
            expect(res.baseOffset).toBe(end);
            expected[i]!.forEach((v, j) => model.set(res.baseOffset + j, v));
            end += expected[i]!.length;
          });
        } else if (r < 0.55) {
          if (!lastIdem) continue;
          const { batch, baseOffset, lastOffset } = lastIdem;
          expect(await p.append(batch)).toMatchObject({ duplicate: true, baseOffset, lastOffset });
          expect(p.logEndOffset).toBe(end);
        } else if (r < 0.8) {
          if (end === start) continue;
          const offset = start + Math.floor(rnd() * (end - start));
          const maxBytes = Math.floor(rnd() * 20000);
          const res = p.read(offset, maxBytes);
          expect(res.highWatermark).toBe(end);
          const batches = decodeRecordBatches(Buffer.concat(res.chunks), { verifyCrc: true });
          expect(batches.length).toBeGreaterThan(0);
          expect(batches[0]!.baseOffset).toBeLessThanOrEqual(offset);
          expect(batches[0]!.lastOffset).toBeGreaterThanOrEqual(offset);
          if (batches.length > 1) expect(res.bytes).toBeLessThanOrEqual(Math.max(maxBytes, 1));
          let next = batches[0]!.baseOffset;
          for (const b of batches) {
            expect(b.baseOffset).toBe(next);
            for (const rec of b.records) if (rec.offset >= start) expect(rec.value!.toString()).toBe(model.get(rec.offset));
            next = b.lastOffset + 1;
          }
        } else if (r < 0.85) {
          const target = start + Math.floor(rnd() * (end - start + 1));
          start = p.deleteRecordsBefore(target);
          expect(start).toBe(Math.max(target, start));
        } else if (r < 0.9) {
          p.enforceRetention();
          expect(p.logStartOffset).toBeGreaterThanOrEqual(start);
          start = p.logStartOffset;
          expect(p.sizeBytes()).toBeLessThanOrEqual(60000 + 20000);
        } else if (r < 0.95) {
          await p.close();
          p = await open();
          expect([p.logStartOffset, p.logEndOffset]).toEqual([start, end]);
        } else {
          // Crash-style: no close; everything acknowledged must be there after reopening.
          abandoned.push(p);
          p = await open();
          expect(p.logEndOffset).toBe(end);
          expect(p.logStartOffset).toBe(start);
        }
      }
      // Final full scan from the start.
      let offset = start;
      while (offset < end) {
        const batches = decodeRecordBatches(Buffer.concat(p.read(offset, 50_000).chunks), { verifyCrc: true });
        for (const b of batches) for (const rec of b.records) if (rec.offset >= offset) expect(rec.value!.toString()).toBe(model.get(rec.offset));
        offset = batches.at(-1)!.lastOffset + 1;
      }
      await p.close();
      for (const a of abandoned) await a.close().catch(() => undefined);
    });
  }
});

/** What a read_committed Kafka consumer sees: records below the LSO, minus those of aborted transactions. */
function consumeCommitted(p: StandalonePartitionLog, from: number): { values: string[]; lso: number } {
  const values: string[] = [];
  let offset = from;
  let lso = p.lastStableOffset;
  const aborting = new Set<number>();
  const pendingAborts: { producerId: number; firstOffset: number }[] = [];
  while (offset < lso) {
    const res = p.read(offset, 1 + (offset % 3000), 'read_committed');
    lso = res.lastStableOffset;
    if (res.bytes === 0) break;
    pendingAborts.push(...res.abortedTransactions);
    pendingAborts.sort((a, b) => a.firstOffset - b.firstOffset);
    for (const b of decodeRecordBatches(Buffer.concat(res.chunks), { verifyCrc: true })) {
      while (pendingAborts.length > 0 && pendingAborts[0]!.firstOffset <= b.lastOffset) aborting.add(pendingAborts.shift()!.producerId);
      if (b.isControl) {
        if (b.records[0]!.key!.readInt16BE(2) === 0) aborting.delete(b.producerId);
      } else if (!(b.isTransactional && aborting.has(b.producerId))) {
        for (const r of b.records) if (r.offset >= offset) values.push(r.value!.toString());
      }
      offset = b.lastOffset + 1;
    }
  }
  return { values, lso };
}

describe('transaction model', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  for (const seed of (process.env.LOG_MODEL_SEEDS ?? '1,2').split(',').map(Number)) {
    it(`read_committed sees exactly the committed records (seed ${seed})`, async () => {
      const rnd = prng(seed * 7919);
      const open = () => openPartitionLog(t.dir, { 'segment.bytes': '3000', 'index.interval.bytes': '200' }, { logger: silent, tailCacheBytes: 1500 });
      let p = await open();
      const abandoned: StandalonePartitionLog[] = [];
      // offset → value and the transaction it belongs to (null: not transactional).
      const records: { offset: number; value: string; txn: number | null }[] = [];
      const txnState = new Map<number, 'open' | 'committed' | 'aborted'>();
      const producers = [601, 602];
      const openTxn = new Map<number, number>();
      const seqs = new Map<number, number>(producers.map((id) => [id, 0]));
      let txnCounter = 0;
      for (let op = 0; op < 300; op++) {
        const r = rnd();
        const pid = producers[Math.floor(rnd() * producers.length)]!;
        if (r < 0.3) {
          const res = await p.append(encodeRecordBatch({ records: [{ value: `plain-${op}` }] }));
          records.push({ offset: res.baseOffset, value: `plain-${op}`, txn: null });
        } else if (r < 0.65) {
          if (!openTxn.has(pid)) {
            openTxn.set(pid, ++txnCounter);
            txnState.set(txnCounter, 'open');
          }
          const values = [`t${openTxn.get(pid)}-${op}-a`, `t${openTxn.get(pid)}-${op}-b`];
          const seq = seqs.get(pid)!;
          seqs.set(pid, seq + 2);
          const res = await p.append(encodeRecordBatch({ producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true, records: values.map((value) => ({ value })) }));
          values.forEach((value, i) => records.push({ offset: res.baseOffset + i, value, txn: openTxn.get(pid)! }));
        } else if (r < 0.85) {
          const txn = openTxn.get(pid);
          if (txn === undefined) continue;
          const commit = rnd() < 0.5;
          await p.append(encodeControlBatch({ producerId: pid, producerEpoch: 0, commit }));
          txnState.set(txn, commit ? 'committed' : 'aborted');
          openTxn.delete(pid);
        } else if (r < 0.92) {
          const from = records.length === 0 ? 0 : records[Math.floor(rnd() * records.length)]!.offset;
          const seen = consumeCommitted(p, from);
          const firstOpen = Math.min(...[...openTxn.values()].map((txn) => records.find((x) => x.txn === txn)!.offset), p.logEndOffset);
          expect(seen.lso).toBe(firstOpen);
          const expected = records.filter((x) => x.offset >= from && x.offset < firstOpen && (x.txn === null || txnState.get(x.txn) === 'committed')).map((x) => x.value);
          expect(seen.values).toEqual(expected);
        } else if (r < 0.96) {
          await p.close();
          p = await open();
        } else {
          abandoned.push(p);
          p = await open();
        }
      }
      await p.close();
      for (const a of abandoned) await a.close().catch(() => undefined);
    });
  }
});
