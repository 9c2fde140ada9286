// How the retry scenario's rate climbs while V8 compiles its code: run.ts's retry scenario
// (attempts 2, concurrency 10, the first attempt throws) several times in one process, each on a
// fresh store, printing the rate of failed attempts (f) and completions (d) per 50 ms window.
//   node --import tsx bench/jobs/warmup.ts [--redis URL] [counts, default 500,5000,5000]
// The first count is run.ts's old warm-up (a tenth); the run after it is what run.ts measured
// with that warm-up, the one after that what it measures with a whole-count warm-up.
import type { Adapter } from './adapters.js';
import { railyardAdapter, redisAdapter } from './adapters.js';

// As in run.ts: source maps would make every err.stack several times dearer.
process.setSourceMapsEnabled(false);
const args = process.argv.slice(2);
const redisAt = args.indexOf('--redis');
const url = redisAt >= 0 ? args[redisAt + 1] : undefined;
const counts = (args.find((a, i) => /^[\d,]+$/.test(a) && args[i - 1] !== '--redis') ?? '500,5000,5000').split(',').map(Number);
const make = (): Adapter => (url ? redisAdapter(url) : railyardAdapter());

for (const [round, count] of counts.entries()) {
  const a = make();
  const name = `warmup${process.pid}x${round}`;
  const q = a.queue(name);
  for (let i = 0; i < count; i += 1000) {
    await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {}, opts: { attempts: 2 } })));
  }
  let done = 0;
  let failed = 0;
  const windows: string[] = [];
  const t0 = performance.now();
  let last = { t: t0, failed: 0, done: 0 };
  const tick = setInterval(() => {
    const t = performance.now();
    // Jobs per millisecond are thousands per second.
    const thousandsPerSec = (n: number): string => (n / (t - last.t)).toFixed(0);
    windows.push(`${thousandsPerSec(failed - last.failed)}f/${thousandsPerSec(done - last.done)}d`);
    last = { t, failed, done };
  }, 50);
  const w = a.worker(name, async (job) => {
    if (job.attemptsMade === 0) {
      failed++;
      throw new Error('first try fails');
    }
  }, { concurrency: 10 });
  w.on('completed', () => done++);
  while (done < count) await new Promise((r) => setTimeout(r, 2));
  clearInterval(tick);
  const rate = count / ((performance.now() - t0) / 1000);
  console.log(`run ${round + 1} (${count} jobs): ${Math.round(rate)} jobs/s; thousands per second in each 50 ms: ${windows.join(' ')}`);
  await w.close();
  await a.close();
}
