/**
 * Log engine throughput: group-committed appends of 16 KiB batches (16 records of 1 KiB) and reads of
 * them back, plus recovery time after an unclean stop. Run: `npx tsx bench/log.bench.ts [MiB-for-recovery]`.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { encodeRecordBatch, openLogStore, openPartitionLog, type PartitionLog } from '../src/log/index.js';
import { createLogger } from '../src/logger.js';
import { openDatabase } from '../src/store/sqlite.js';
import type { FsyncPolicy } from '../src/config.js';

const logger = createLogger('silent');
const RECORD = Buffer.alloc(1024, 'r');
const BATCH = encodeRecordBatch({ records: Array.from({ length: 16 }, (_, i) => ({ key: String(i), value: RECORD })) });
const SMALL = encodeRecordBatch({ records: [{ key: 'k', value: RECORD }] });
const GROUP = 64; // batches appended in one event-loop turn: 1 MiB
const MiB = 1024 * 1024;

/** BENCH_DIR=/dev/shm separates the engine's CPU cost from the disk and page-cache cost. */
function tmp(): string {
  return mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'railyard-bench-'));
}

async function appendGroup(p: PartitionLog, n: number, batch = BATCH): Promise<void> {
  const ps: Promise<unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = p.append(batch);
  await Promise.all(ps);
}

interface Row {
  scenario: string;
  'ops/s': string;
  'MB/s': string;
  'mean ms': string;
  /** Process CPU (user+system) per MiB moved: the engine's cost apart from waiting on the disk. */
  'CPU ms/MiB': string;
}
const rows: Row[] = [];

async function run(name: string, bytesPerOp: number, fn: () => Promise<void> | void, opts: { time?: number } = {}): Promise<void> {
  const bench = new Bench({ time: opts.time ?? 1500, warmup: true });
  let calls = 0;
  bench.add(name, () => {
    calls++;
    return fn();
  });
  const cpu0 = process.cpuUsage();
  await bench.run();
  const cpu = process.cpuUsage(cpu0);
  const r = bench.tasks[0]!.result;
  if (!r || !('latency' in r)) throw new Error(`${name} failed`);
  // Mean latency, not the mean of per-sample rates (which overweights the fastest samples).
  const ops = 1000 / r.latency.mean;
  const cpuPerMiB = (cpu.user + cpu.system) / 1000 / ((calls * bytesPerOp) / MiB);
  rows.push({
    scenario: name,
    'ops/s': ops.toFixed(0),
    'MB/s': ((ops * bytesPerOp) / 1e6).toFixed(0),
    'mean ms': r.latency.mean.toFixed(3),
    'CPU ms/MiB': cpuPerMiB.toFixed(2),
  });
}

async function appendScenario(fsync: FsyncPolicy, group: number): Promise<void> {
  const dir = tmp();
  const p = await openPartitionLog(dir, { 'segment.bytes': String(256 * MiB), 'retention.bytes': String(512 * MiB) }, { logger, fsync });
  let n = 0;
  await run(`append ${group}x16KiB/turn fsync=${fsync}`, group * BATCH.length, async () => {
    await appendGroup(p, group);
    // Keep the disk footprint bounded during long runs.
    if (++n % 512 === 0) p.enforceRetention();
  });
  await p.close();
  rmSync(dir, { recursive: true, force: true });
}

async function smallAppendScenario(): Promise<void> {
  const dir = tmp();
  const p = await openPartitionLog(dir, { 'segment.bytes': String(256 * MiB), 'retention.bytes': String(512 * MiB) }, { logger, fsync: 'never' });
  let n = 0;
  await run(`append ${GROUP}x1KiB (1 record)/turn fsync=never`, GROUP * SMALL.length, async () => {
    await appendGroup(p, GROUP, SMALL);
    if (++n % 4096 === 0) p.enforceRetention();
  });
  await p.close();
  rmSync(dir, { recursive: true, force: true });
}

/** A store with 100 partitions, one 16 KiB batch to each per turn: one writev per partition per turn. */
async function manyPartitionsScenario(): Promise<void> {
  const dir = tmp();
  const db = openDatabase(dir);
  const store = await openLogStore({ dataDir: dir, db, fsync: 'never', fsyncIntervalMs: 1000, logger, topicDefaults: { 'segment.bytes': String(16 * MiB), 'retention.bytes': String(32 * MiB) } });
  store.createTopic('bench', { partitions: 100 });
  const parts = Array.from({ length: 100 }, (_, i) => store.partition('bench', i)!);
  let n = 0;
  await run('append 100 partitions x 16KiB/turn fsync=never', 100 * BATCH.length, async () => {
    await Promise.all(parts.map((p) => p.append(BATCH)));
    if (++n % 256 === 0) store.enforceRetention();
  });
  await store.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

async function readScenarios(): Promise<void> {
  const dir = tmp();
  const p = await openPartitionLog(dir, { 'segment.bytes': String(64 * MiB) }, { logger, fsync: 'never', tailCacheBytes: 4 * MiB });
  for (let i = 0; i < 256; i++) await appendGroup(p, GROUP); // 256 MiB
  const end = p.logEndOffset;
  let offset = 0;
  await run('read 1 MiB from files (sequential)', MiB, () => {
    const r = p.read(offset, MiB);
    offset += 16 * Math.floor(r.bytes / BATCH.length);
    if (offset >= end - 4096) offset = 0;
  });
  let tailOffset = end - 64 * 16;
  await run('read 1 MiB from the tail cache', MiB, () => {
    p.read(tailOffset, MiB);
  });
  let random = 1;
  await run('read 64 KiB at random offsets', 64 * 1024, () => {
    random = (random * 1103515245 + 12345) % 2147483648;
    p.read(random % (end - 16), 64 * 1024);
  });
  await p.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `mib` MiB into one segment, abandons the partition without closing, and times the reopen. */
async function recoveryScenario(mib: number): Promise<void> {
  const dir = tmp();
  const p = await openPartitionLog(dir, {}, { logger, fsync: 'never' });
  for (let i = 0; i < mib; i++) await appendGroup(p, GROUP);
  const end = p.logEndOffset;
  // No close(): the tail of the indexes and the latest producer snapshot are missing, as after kill -9.
  let t0 = performance.now();
  const q = await openPartitionLog(dir, {}, { logger, fsync: 'never' });
  let ms = performance.now() - t0;
  if (q.logEndOffset !== end) throw new Error(`recovered ${q.logEndOffset}, expected ${end}`);
  rows.push({ scenario: `recover ${mib} MiB tail segment (unclean)`, 'ops/s': '-', 'MB/s': ((mib * MiB) / 1e3 / ms).toFixed(0), 'mean ms': ms.toFixed(1), 'CPU ms/MiB': '-' });
  await q.close();
  // Worst case: no producer snapshot at all, the whole segment's batch headers are replayed.
  for (const f of readdirSync(dir)) if (f.endsWith('.snapshot')) rmSync(join(dir, f));
  t0 = performance.now();
  const r = await openPartitionLog(dir, {}, { logger, fsync: 'never' });
  ms = performance.now() - t0;
  rows.push({ scenario: `recover ${mib} MiB, no producer snapshot`, 'ops/s': '-', 'MB/s': ((mib * MiB) / 1e3 / ms).toFixed(0), 'mean ms': ms.toFixed(1), 'CPU ms/MiB': '-' });
  await r.close();
  rmSync(dir, { recursive: true, force: true });
}

// Just under segment.bytes (1 GiB): the whole log is one tail segment, the worst case for recovery.
const recoveryMiB = Number(process.argv[2] ?? 1000);
const only = process.env.BENCH_ONLY;
if (only === 'recovery') {
  await recoveryScenario(recoveryMiB);
  console.table(rows);
  process.exit(0);
}
await appendScenario('never', GROUP);
await appendScenario('never', 1);
await smallAppendScenario();
await manyPartitionsScenario();
await appendScenario('interval', GROUP);
await appendScenario('always', GROUP);
await appendScenario('always', 1);
await readScenarios();
await recoveryScenario(recoveryMiB);
console.table(rows);
