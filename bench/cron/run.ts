/**
 * Cron benchmarks: npx tsx bench/cron/run.ts [--quick] [--tsx]
 * (compiles with tsc and runs the JavaScript; --tsx measures through tsx instead)
 *   1. next-run throughput vs croner, node-cron and cron-parser
 *   2. firing lateness of 200 every-second tasks vs a bare setTimeout reference
 *   3. creation time and memory of 10k scheduled tasks vs node-cron and croner
 *   4. Agenda on RailyardAgendaBackend: job saved in one process → started by an idle Agenda in another
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { compileBench, isCompiled, sibling } from './compiled.js';

if (!isCompiled && !process.argv.includes('--tsx')) {
  const entry = compileBench('run');
  const r = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { benchNextRun } = await import('./next-run.js');
const { benchLateness } = await import('./lateness.js');
const { benchAgendaWake } = await import('./agenda-wake.js');

const quick = process.argv.includes('--quick');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

console.log(`node ${process.version}, ${quick ? 'quick' : 'full'} run, ${isCompiled ? 'compiled with tsc' : 'through tsx'}`);
console.log('\n## next-run computations per second (chained next after next)');
console.log('| expression | zone | railyard | croner | node-cron | cron-parser | railyard / croner |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of benchNextRun(quick ? 100 : 400)) {
  console.log(`| \`${r.expression}\` | ${r.timezone} | ${fmt(r.railyard)} | ${fmt(r.croner)} | ${fmt(r.nodeCron)} | ${fmt(r.cronParser)} | ${(r.railyard / r.croner).toFixed(1)}x |`);
}

const tasks = 200;
const seconds = quick ? 3 : 10;
console.log(`\n## firing lateness, ${tasks} tasks every second for ${seconds} s (ms)`);
console.log('| implementation | samples | p50 | p99 | max |');
console.log('|---|---:|---:|---:|---:|');
for (const l of await benchLateness(tasks, seconds)) {
  console.log(`| ${l.name} | ${l.samples} | ${l.p50} | ${l.p99} | ${l.max} |`);
}

const n = 10_000;
console.log(`\n## ${fmt(n)} scheduled tasks: creation time and memory (fresh process each, after gc)`);
console.log('| library | create, wall (ms) | create, CPU (ms) | RSS per task (bytes) | heap+external per task (bytes) |');
console.log('|---|---:|---:|---:|---:|');
const child = sibling('memory-child');
for (const lib of ['railyard', 'node-cron', 'croner']) {
  const out = execFileSync(process.execPath, ['--expose-gc', ...child.execArgv, child.path, lib, String(n)], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { createMs: number; createCpuMs: number; rssPerTask: number; heapPerTask: number };
  console.log(`| ${lib} | ${fmt(r.createMs)} | ${fmt(r.createCpuMs)} | ${fmt(r.rssPerTask)} | ${fmt(r.heapPerTask)} |`);
}

const wake = await benchAgendaWake(quick ? 20 : 100);
console.log('\n## Agenda cross-process wake-up (save here → job starts in an idle Agenda elsewhere, processEvery 1 h)');
console.log('| samples | p50 (ms) | p99 (ms) | max (ms) |');
console.log('|---:|---:|---:|---:|');
console.log(`| ${wake.samples} | ${wake.p50} | ${wake.p99} | ${wake.max} |`);
process.exit(0);
