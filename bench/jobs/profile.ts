// Runs one bench scenario on the SQLite backend alone, for `node --cpu-prof --import tsx`:
//   node --cpu-prof --cpu-prof-dir /tmp/prof --import tsx bench/jobs/profile.ts add|c1|c50 [count]
import { railyardAdapter } from './adapters.js';

const step = process.argv[2] ?? 'add';
const count = Number(process.argv[3] ?? '20000');
const a = railyardAdapter();
const q = a.queue('p');
const t0 = performance.now();
if (step === 'add') {
  for (let i = 0; i < count; i++) await q.add('x', { i });
} else {
  for (let i = 0; i < count; i += 1000) await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {} })));
  let done = 0;
  const s = performance.now();
  const w = a.worker('p', async () => undefined, { concurrency: step === 'c50' ? 50 : 1 });
  w.on('completed', () => done++);
  while (done < count) await new Promise((r) => setTimeout(r, 2));
  console.log(`processed ${Math.round(count / ((performance.now() - s) / 1000))} jobs/s`);
}
console.log(`${step}: ${Math.round(count / ((performance.now() - t0) / 1000))} jobs/s overall`);
await a.close();
