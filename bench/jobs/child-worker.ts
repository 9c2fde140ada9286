// An idle worker in its own process, for the cross-process wake-up and idle-CPU figures.
//   child-worker.ts <railyard|redis> <dataDir|redisUrl> <queue>
// Prints "ready", then "lat <ms>" per job (start time minus the producer's data.t, same
// machine clock), and answers "cpu" on stdin with "cpu <user+system µs>".
import { createInterface } from 'node:readline';
import { Worker } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';

const [kind, address, queue] = process.argv.slice(2);
const now = (): number => performance.timeOrigin + performance.now();
const handler = async (job: { data: { t: number } }): Promise<void> => {
  process.stdout.write(`lat ${(now() - job.data.t).toFixed(3)}\n`);
};
let worker: Worker;
if (kind === 'railyard') {
  worker = new Worker(queue!, handler, { connection: { dataDir: address! } }, createRailyardBackend);
} else {
  const u = new URL(address!);
  worker = new Worker(queue!, handler, { connection: { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null } });
}
await worker.waitUntilReady();
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'cpu') {
    const u = process.cpuUsage();
    process.stdout.write(`cpu ${u.user + u.system}\n`);
  } else if (l === 'exit') {
    void worker.close().then(() => process.exit(0));
  }
});
