// Run in a fresh process: creates N scheduled tasks with one library and reports time and memory.
import { Cron } from 'croner';
import nodeCron from 'node-cron';
import railyardCron from '../../src/cron.js';

const [lib, nArg] = process.argv.slice(2) as [string, string];
const n = Number(nArg);
const gc = (globalThis as { gc?: () => void }).gc;
const noop = (): void => undefined;
// Distinct daily times, so no library can share one parsed expression between tasks.
const exprs = Array.from({ length: n }, (_, i) => `${i % 60} ${Math.floor(i / 60) % 60} ${Math.floor(i / 3600) % 24} * * *`);

// One task first, destroyed again, so lazily loaded code paths are not billed to the 10k.
if (lib === 'railyard') void railyardCron.schedule('0 0 0 1 1 *', noop).destroy();
else if (lib === 'node-cron') void nodeCron.schedule('0 0 0 1 1 *', noop).destroy();
else if (lib === 'croner') new Cron('0 0 0 1 1 *', noop).stop();
gc?.();
const before = process.memoryUsage();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const keep: unknown[] = [];
if (lib === 'railyard') for (const e of exprs) keep.push(railyardCron.schedule(e, noop));
else if (lib === 'node-cron') for (const e of exprs) keep.push(nodeCron.schedule(e, noop));
else if (lib === 'croner') for (const e of exprs) keep.push(new Cron(e, noop));
const createMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const createCpuMs = (cpu.user + cpu.system) / 1000;
gc?.();
const after = process.memoryUsage();
process.stdout.write(JSON.stringify({
  lib, n, createMs, createCpuMs,
  rssPerTask: (after.rss - before.rss) / n,
  heapPerTask: (after.heapUsed + after.external + after.arrayBuffers - before.heapUsed - before.external - before.arrayBuffers) / n,
}) + '\n');
process.exit(0);
