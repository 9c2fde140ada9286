// Runs one bench scenario on the SQLite backend alone and says where its time goes:
//   node --import tsx bench/jobs/profile.ts add|c1|c50|retry|delayed [count] [--sql] [--cpuprofile FILE] [--unique]
//
// Always: jobs/s and process CPU per job over the measured phase (adding for `add`, processing
// for c1/c50/retry; a shared machine's load moves jobs/s far more than CPU per job).
// retry: run.ts's retry scenario (attempts: 2, concurrency 10, the handler throws on the first
//   attempt); also the worker's idle share (1 - CPU/wall), since a retry that waits on a timer
//   or a wake-up leaves workers idle rather than busy. --unique: each failure's message names its
//   job, so no two stack traces are alike (run.ts's all are: one throw site, one message).
// delayed: run.ts's lateness scenario (jobs delayed 500 ms, added 2 per ms, concurrency 10), and
//   for each job late by 3 ms or more, what the event loop did between its due time and its
//   start: stalls of the loop (a 1 ms interval that fired late) and, with --sql, statements
//   that took over 1 ms.
// --sql: wall time inside every statement, by SQL text, with calls per job, and how many
//   operations each group commit carried. Adds a timer call per statement (~0.1 µs).
// --batches: how many operations each group commit carried, as a histogram (commits, and the
//   share of operations, per batch size): chained operations that each commit alone show as 1s.
// --cpuprofile: V8 profile of the measured phase only (no module loading), written to FILE and
//   summarised by owner: BullMQ's Worker/Job code, our backend, better-sqlite3 calls (a native
//   call's time is counted in the JS function that made it, so our statement-issuing functions
//   carry SQLite time), GC.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import Database from 'better-sqlite3';
import { railyardAdapter } from './adapters.js';
import { GroupCommit } from '../../src/queue/group-commit.js';

// As in run.ts: tsx's source maps would make every failed attempt's err.stack ~4x dearer.
process.setSourceMapsEnabled(false);
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(`--${name}`);
const value = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--cpuprofile'));
const step = positional[0] ?? 'add';
const count = Number(positional[1] ?? '20000');
const profileOut = value('cpuprofile');

interface SqlTime {
  calls: number;
  ms: number;
  max: number;
  slow: number;
  /** Time in calls over 1 ms (checkpoint stalls inside COMMIT, say). */
  slowMs: number;
}
const sql = new Map<string, SqlTime>();
/** Statements over 1 ms: start (ms since the epoch), duration, SQL. */
const slowStatements: { at: number; ms: number; sql: string }[] = [];
const epochNow = (): number => performance.timeOrigin + performance.now();
let measuring = false;
if (flag('sql')) {
  // Every statement of the store goes through these three prototype methods.
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...a: unknown[]) => unknown>;
  probe.close();
  for (const m of ['run', 'get', 'all'] as const) {
    const orig = proto[m];
    proto[m] = function (this: { source: string }, ...a: unknown[]) {
      if (!measuring) return orig.apply(this, a);
      const t = performance.now();
      try {
        return orig.apply(this, a);
      } finally {
        const d = performance.now() - t;
        const key = this.source.replace(/\s+/g, ' ').slice(0, 90);
        let s = sql.get(key);
        if (!s) sql.set(key, (s = { calls: 0, ms: 0, max: 0, slow: 0, slowMs: 0 }));
        s.calls++;
        s.ms += d;
        if (d > s.max) s.max = d;
        if (d > 1) {
          s.slow++;
          s.slowMs += d;
          slowStatements.push({ at: performance.timeOrigin + t, ms: d, sql: key });
        }
      }
    };
  }
}

/** Batch size -> commits of that size, while measuring. */
const batches = new Map<number, number>();
if (flag('batches')) {
  const proto = GroupCommit.prototype as unknown as { runBatch: (batch: unknown[], ...rest: unknown[]) => unknown };
  const orig = proto.runBatch;
  proto.runBatch = function (this: unknown, batch: unknown[], ...rest: unknown[]) {
    // A batch run again in savepoints is the same batch: count its first run only.
    if (measuring && rest[1] !== true) batches.set(batch.length, (batches.get(batch.length) ?? 0) + 1);
    return orig.call(this, batch, ...rest);
  };
}

/** The main thread's CPU time in ms (utime + stime of its /proc task, in 10 ms ticks): the event loop's share of all threads. */
function mainThreadMs(): number {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10;
  } catch {
    return NaN;
  }
}

const session = profileOut ? new Session() : undefined;
async function startPhase(): Promise<{ t: number; cpu: NodeJS.CpuUsage; main: number }> {
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  measuring = true;
  return { t: performance.now(), cpu: process.cpuUsage(), main: mainThreadMs() };
}
async function endPhase(start: { t: number; cpu: NodeJS.CpuUsage; main: number }): Promise<void> {
  measuring = false;
  const ms = performance.now() - start.t;
  const cpu = process.cpuUsage(start.cpu);
  const main = mainThreadMs() - start.main;
  console.log(
    `${step}: ${Math.round(count / (ms / 1000))} jobs/s; CPU ${((cpu.user + cpu.system) / count).toFixed(1)} µs/job ` +
      `(user ${(cpu.user / count).toFixed(1)}, sys ${(cpu.system / count).toFixed(1)}; all threads); ` +
      `main thread ${((main * 1000) / count).toFixed(0)} µs/job (${((main / ms) * 100).toFixed(0)} % busy; 10 ms ticks)`,
  );
  if (batches.size > 0) {
    const sizes = [...batches].sort((x, y) => x[0] - y[0]);
    const commits = sizes.reduce((t, [, c]) => t + c, 0);
    const ops = sizes.reduce((t, [n, c]) => t + n * c, 0);
    console.log(`group commits: ${commits} for ${ops} operations (${(ops / count).toFixed(2)} per job); by size: ` +
      sizes.map(([n, c]) => `${n}: ${c} (${((n * c * 100) / ops).toFixed(0)}% of ops)`).join(', '));
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileOut!, JSON.stringify(profile));
    summarise(profile);
  }
  if (sql.size > 0) {
    const rows = [...sql].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((s, [, v]) => s + v.ms, 0);
    console.log(`SQL: ${((total * 1000) / count).toFixed(1)} µs/job in statements`);
    for (const [k, v] of rows.slice(0, 25)) {
      console.log(
        `${((v.ms * 1000) / count).toFixed(2).padStart(7)} µs/job ${(v.calls / count).toFixed(2).padStart(5)} calls/job ` +
          `max ${v.max.toFixed(1).padStart(5)} ms >1ms ${String(v.slow).padStart(3)} (${v.slowMs.toFixed(0).padStart(4)} ms)  ${k}`,
      );
    }
    const begins = sql.get('BEGIN IMMEDIATE')?.calls ?? 0;
    if (begins > 0) console.log(`group commits: ${begins}, ${(count / begins).toFixed(1)} jobs per commit`);
  }
}

/** Self time of the profile's samples grouped by who owns the code. */
function summarise(profile: { nodes: { id: number; callFrame: { url: string; functionName: string }; children?: number[] }[]; samples?: number[]; timeDeltas?: number[] }): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = (id: number): string => {
    let n = byId.get(id)!;
    const f = n.callFrame.functionName;
    if (f === '(idle)' || f === '(garbage collector)' || f === '(program)') return f;
    // Native frames (fs calls, microtask plumbing) belong to the JS code that called them.
    while (n.callFrame.url === '' && parent.has(n.id)) n = byId.get(parent.get(n.id)!)!;
    const u = n.callFrame.url;
    if (u.includes('/node_modules/bullmq/')) return 'bullmq';
    if (u.includes('/src/queue/')) return `ours ${u.slice(u.indexOf('/src/queue/') + 11)}`;
    if (u.startsWith('node:')) return `node ${u.slice(5)}`;
    return u === '' ? 'native' : u.slice(u.lastIndexOf('/') + 1);
  };
  const totals = new Map<string, number>();
  let all = 0;
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, i) => {
    const d = deltas[i] ?? 0;
    all += d;
    const k = owner(id);
    totals.set(k, (totals.get(k) ?? 0) + d);
  });
  console.log(`profile: ${(all / 1000).toFixed(0)} ms sampled, by owner (self time, µs/job):`);
  for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`${(v / count).toFixed(2).padStart(7)}  ${((v / all) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
}

const a = railyardAdapter();
const q = a.queue('p');
if (step === 'delayed') {
  const late: { due: number; start: number }[] = [];
  const w = a.worker('p', async (job) => void late.push({ due: job.timestamp + 500, start: epochNow() }), { concurrency: 10 });
  await w.waitUntilReady();
  // Loop stalls: a 1 ms interval that fires more than 2 ms after the previous one, with the
  // process's CPU time meanwhile (near the stall's length: this process was busy; near 0: the
  // machine ran something else).
  const stalls: { from: number; to: number; cpu: number }[] = [];
  let last = epochNow();
  let lastCpu = process.cpuUsage();
  const sampler = setInterval(() => {
    const t = epochNow();
    const cpu = process.cpuUsage();
    if (t - last > 2) stalls.push({ from: last, to: t, cpu: (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000 });
    last = t;
    lastCpu = cpu;
  }, 1);
  const s = await startPhase();
  const t0 = epochNow();
  for (let i = 0; i < count; i++) {
    const wait = t0 + i / 2 - epochNow();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    await q.add('x', {}, { delay: 500 });
  }
  while (late.length < count) await new Promise((r) => setTimeout(r, 5));
  clearInterval(sampler);
  await endPhase(s);
  const ms = late.map((l) => l.start - l.due).sort((x, y) => x - y);
  const pick = (p: number): string => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(2);
  console.log(`lateness (µs clock): p50 ${pick(0.5)} ms, p99 ${pick(0.99)} ms, max ${pick(1)} ms; loop stalls over 2 ms: ${stalls.length}`);
  for (const l of late.filter((x) => x.start - x.due >= 3).slice(0, 40)) {
    const during = (from: number, to: number): boolean => from < l.start && to > l.due - 1;
    const st = stalls.filter((x) => during(x.from, x.to)).map((x) => `stall ${(x.to - x.from).toFixed(1)} ms (cpu ${x.cpu.toFixed(1)} ms)`);
    const sq = slowStatements.filter((x) => during(x.at, x.at + x.ms)).map((x) => `${x.ms.toFixed(1)} ms in ${x.sql.slice(0, 40)}`);
    console.log(`  late ${(l.start - l.due).toFixed(1)} ms: ${[...st, ...sq].join('; ') || 'no stall or slow statement seen'}`);
  }
} else if (step === 'add') {
  const s = await startPhase();
  for (let i = 0; i < count; i++) await q.add('x', { i });
  await endPhase(s);
} else if (step === 'retry') {
  for (let i = 0; i < count; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {}, opts: { attempts: 2 } })));
  }
  let done = 0;
  let failed = 0;
  const s = await startPhase();
  const w = a.worker('p', async (job) => {
    if (job.attemptsMade === 0) throw new Error(flag('unique') ? `job ${job.id} fails` : 'first try fails');
  }, { concurrency: 10 });
  w.on('completed', () => done++);
  w.on('failed', () => failed++);
  while (done < count) await new Promise((r) => setTimeout(r, 2));
  const wall = performance.now() - s.t;
  const cpu = process.cpuUsage(s.cpu);
  console.log(`retry: ${failed} failed attempts; idle ${Math.max(0, 100 - ((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(0)}% of wall time`);
  await endPhase(s);
} else {
  for (let i = 0; i < count; i += 1000) await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {} })));
  let done = 0;
  const s = await startPhase();
  const w = a.worker('p', async () => undefined, { concurrency: step === 'c50' ? 50 : 1 });
  w.on('completed', () => done++);
  while (done < count) await new Promise((r) => setTimeout(r, 2));
  await endPhase(s);
}
await a.close();
