// Job-queue bench: BullMQ on Railyard's SQLite backend, and BullMQ on Redis when
// RAILYARD_REDIS_URL is set (../../../shared/tools/start-redis.sh starts one).
//
//   npx tsx bench/jobs/run.ts [--only railyard|redis] [--scale 0.1] [--steps add,bulk,c1,c50,latency,delayed,retry,xproc] [--warmup 1] [--no-warmup]
//
// --scale shrinks every job count (e.g. 0.1 for a quick look); the reported numbers are rates
// and latencies, so they stay comparable.
// Each throughput scenario (add, bulk, c1, c50, retry) first runs unmeasured, whole (--warmup
// sets the share of its count: 0.1 for a tenth), on the same system, so that what is measured
// runs on compiled code. Without that, the system measured first (Railyard) pays V8's warm-up of
// BullMQ's own code for every path that scenario takes first (the retry scenario's failure path
// above all), and the other runs on it warm. A tenth was not enough for the retry scenario: after
// a 500-job warm-up, Railyard's failed attempts still ran at 7-12k/s for the first 150 ms of the
// measured run, 17-18k/s after (bench/README.md). --no-warmup measures cold.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Job } from 'bullmq';
import { railyardAdapter, redisAdapter, type Adapter } from './adapters.js';

// tsx turns on Node's source maps, which make every `err.stack` several times dearer (~50 µs here
// against ~13 µs); BullMQ reads the stack of every failed attempt. A compiled application does not
// pay that, and both backends would pay it alike, squeezing every ratio towards 1.
process.setSourceMapsEnabled(false);

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const scale = Number(opt('scale') ?? '1');
const only = opt('only');
const warmup = args.includes('--no-warmup') ? 0 : Number(opt('warmup') ?? '1');
/** The warm-up's share of each count during a scenario's warm-up run. */
let countFactor = 1;
const n = (count: number): number => Math.max(10, Math.round(count * scale * countFactor));
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const fresh = (): string => `bench${process.pid}x${seq++}`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

type Row = { scenario: string; value: string };

async function waitCount(done: () => number, target: number, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (done() < target) {
    if (Date.now() > end) throw new Error(`timed out at ${done()}/${target}`);
    await sleep(2);
  }
}

async function addOneByOne(a: Adapter): Promise<Row> {
  const q = a.queue(fresh());
  const count = n(20_000);
  const t0 = now();
  for (let i = 0; i < count; i++) await q.add('x', { i });
  return { scenario: `add one by one (${count})`, value: `${Math.round(count / ((now() - t0) / 1000))} jobs/s` };
}

async function addBulk(a: Adapter): Promise<Row> {
  const q = a.queue(fresh());
  const count = n(100_000);
  const t0 = now();
  for (let i = 0; i < count; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ name: 'x', data: { i: i + k } })));
  }
  return { scenario: `addBulk (${count}, chunks of 1000)`, value: `${Math.round(count / ((now() - t0) / 1000))} jobs/s` };
}

async function processNoop(a: Adapter, concurrency: number): Promise<Row> {
  const name = fresh();
  const q = a.queue(name);
  const count = n(50_000);
  for (let i = 0; i < count; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {} })));
  }
  let done = 0;
  const t0 = now();
  const w = a.worker(name, async () => undefined, { concurrency });
  w.on('completed', () => done++);
  await waitCount(() => done, count);
  const rate = count / ((now() - t0) / 1000);
  await w.close();
  return { scenario: `process ${count} no-op, concurrency ${concurrency}`, value: `${Math.round(rate)} jobs/s` };
}

async function latency(a: Adapter): Promise<Row> {
  const name = fresh();
  const q = a.queue(name);
  const lats: number[] = [];
  const w = a.worker(name, async (job: Job) => {
    lats.push(now() - (job.data as { t: number }).t);
  }, { concurrency: 10 });
  await w.waitUntilReady();
  await sleep(200);
  const count = n(3000);
  const start = now();
  for (let i = 0; i < count; i++) {
    const due = start + i; // 1000 jobs/s
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    await q.add('x', { t: now() });
  }
  await waitCount(() => lats.length, count);
  await w.close();
  return { scenario: `add→start at 1000 jobs/s (${count})`, value: `p50 ${pct(lats, 50).toFixed(2)} ms, p99 ${pct(lats, 99).toFixed(2)} ms` };
}

async function delayedLateness(a: Adapter): Promise<Row> {
  const name = fresh();
  const q = a.queue(name);
  const late: number[] = [];
  const w = a.worker(name, async (job: Job) => {
    late.push(Date.now() - (job.timestamp + 500));
  }, { concurrency: 10 });
  await w.waitUntilReady();
  const count = n(2000);
  const start = now();
  for (let i = 0; i < count; i++) {
    // spread over ~1 s so due times are spread too
    const wait = start + i / 2 - now();
    if (wait > 1) await sleep(wait);
    await q.add('x', {}, { delay: 500 });
  }
  await waitCount(() => late.length, count);
  await w.close();
  return { scenario: `lateness of ${count} jobs delayed 500 ms`, value: `p50 ${pct(late, 50)} ms, p99 ${pct(late, 99)} ms (ms clock)` };
}

async function failOnce(a: Adapter): Promise<Row> {
  const name = fresh();
  const q = a.queue(name);
  const count = n(5000);
  for (let i = 0; i < count; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {}, opts: { attempts: 2 } })));
  }
  let done = 0;
  const t0 = now();
  const w = a.worker(name, async (job: Job) => {
    if (job.attemptsMade === 0) throw new Error('first try fails');
  }, { concurrency: 10 });
  w.on('completed', () => done++);
  await waitCount(() => done, count);
  const rate = count / ((now() - t0) / 1000);
  await w.close();
  return { scenario: `${count} jobs failing once then succeeding (c=10)`, value: `${Math.round(rate)} jobs/s` };
}

/** Cross-process add→start latency and an idle worker's CPU, with the worker in a child process. */
async function crossProcess(a: Adapter, kind: 'railyard' | 'redis'): Promise<Row[]> {
  const name = fresh();
  const q = a.queue(name);
  const script = fileURLToPath(new URL('./child-worker.ts', import.meta.url));
  const p = spawn(process.execPath, ['--import', 'tsx', script, kind, a.address, name], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lats: number[] = [];
  const cpu: number[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  createInterface({ input: p.stdout! }).on('line', (l) => {
    if (l === 'ready') ready();
    else if (l.startsWith('lat ')) lats.push(Number(l.slice(4)));
    else if (l.startsWith('cpu ')) cpu.push(Number(l.slice(4)));
  });
  await isReady;
  await sleep(500);
  p.stdin!.write('cpu\n');
  await sleep(3000);
  p.stdin!.write('cpu\n');
  await waitCount(() => cpu.length, 2);
  const idlePct = ((cpu[1]! - cpu[0]!) / 1000 / 3000) * 100;
  const count = n(200);
  for (let i = 0; i < count; i++) {
    await q.add('x', { t: now() });
    await sleep(20);
  }
  await waitCount(() => lats.length, count, 60_000);
  p.stdin!.write('exit\n');
  await new Promise((r) => p.once('exit', r));
  return [
    { scenario: `idle worker CPU (other process, 3 s)`, value: `${idlePct.toFixed(2)} %` },
    { scenario: `add→start, worker in another process (${count} at 50/s)`, value: `p50 ${pct(lats, 50).toFixed(2)} ms, p99 ${pct(lats, 99).toFixed(2)} ms` },
  ];
}

async function runAll(make: () => Adapter, kind: 'railyard' | 'redis'): Promise<{ name: string; rows: Row[] }> {
  const rows: Row[] = [];
  let a = make();
  const name = a.name;
  const all: [string, (a: Adapter) => Promise<Row | Row[]>][] = [
    ['add', addOneByOne],
    ['bulk', addBulk],
    ['c1', (x) => processNoop(x, 1)],
    ['c50', (x) => processNoop(x, 50)],
    ['latency', latency],
    ['delayed', delayedLateness],
    ['retry', failOnce],
    ['xproc', (x) => crossProcess(x, kind)],
  ];
  const wanted = opt('steps')?.split(',');
  const throughput = new Set(['add', 'bulk', 'c1', 'c50', 'retry']);
  const steps = all.filter(([k]) => !wanted || wanted.includes(k));
  for (const [key, step] of steps) {
    if (warmup > 0 && throughput.has(key)) {
      countFactor = warmup;
      await step(a);
      countFactor = 1;
    }
    const r = await step(a);
    for (const row of Array.isArray(r) ? r : [r]) {
      rows.push(row);
      console.error(`  ${name}: ${row.scenario}: ${row.value}`);
    }
    // A fresh store per scenario, so one scenario's leftovers do not slow the next.
    await a.close();
    a = make();
  }
  await a.close();
  return { name, rows };
}

const results: { name: string; rows: Row[] }[] = [];
if (!only || only === 'railyard') results.push(await runAll(railyardAdapter, 'railyard'));
const url = process.env['RAILYARD_REDIS_URL'];
if (url && (!only || only === 'redis')) results.push(await runAll(() => redisAdapter(url), 'redis'));

const scenarios = results[0]?.rows.map((r) => r.scenario) ?? [];
const header = ['scenario', ...results.map((r) => r.name)];
const table = [header, ...scenarios.map((s, i) => [s, ...results.map((r) => r.rows[i]?.value ?? '')])];
const widths = header.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
for (const row of table) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | '));
process.exit(0);
