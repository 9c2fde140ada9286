// Usage: npx tsx bench/amqp/floor.ts [SECONDS] [ROUNDS]
// The end-to-end latency a broker that does no work at all gets on this machine, paced as scenario
// (d): 5000 msg/s of 1 KiB from a worker thread, through a Node child process that only relays bytes
// (floor-relay.mjs), the consumer acknowledging each message. The same process layout and wake-ups
// as (d) without AMQP, queues or acks being processed, so its p99 is the part of (d)'s p99 that
// scheduling two processes on this machine costs whatever the broker does. compare.ts runs a floor
// round next to each interleaved (d) round.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { percentile, setClientYoungGeneration } from './scenarios.js';

export interface FloorRelay {
  /** One measured round of `seconds` (after an unmeasured second in the same thread, as latency() does): every latency in ms. */
  round(seconds: number): Promise<Float64Array>;
  stop(): void;
}

export async function startFloorRelay(): Promise<FloorRelay> {
  // The floor's client threads get the same young generation as (d)'s.
  setClientYoungGeneration();
  const relay: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('./floor-relay.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    relay.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    relay.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  const run = (secs: number) =>
    new Promise<Float64Array>((resolve, reject) => {
      const w = new Worker(new URL('./floor-worker.mjs', import.meta.url), { workerData: { port, ratePerSec: 5000, seconds: secs, warmSeconds: 1 } });
      w.once('message', (m: { samples: Float64Array }) => resolve(m.samples));
      w.once('error', reject);
    });
  return {
    round: (seconds) => run(seconds),
    stop: () => void relay.kill('SIGTERM'),
  };
}

/** Every sample of `parts` in one array. */
export function concatSamples(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of parts) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const rounds = Number(process.argv[3] ?? 3);
  const relay = await startFloorRelay();
  try {
    const all: Float64Array[] = [];
    for (let i = 0; i < rounds; i++) {
      const s = await relay.round(seconds);
      all.push(s);
      console.log(`floor round ${i + 1}: p50 ${percentile(s, 0.5).toFixed(2)} p99 ${percentile(s, 0.99).toFixed(2)} ms (${s.length} samples)`);
    }
    const pooled = concatSamples(all);
    console.log(`floor pooled: p50 ${percentile(pooled, 0.5).toFixed(2)} p99 ${percentile(pooled, 0.99).toFixed(2)} ms`);
  } finally {
    relay.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
