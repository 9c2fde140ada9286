#!/usr/bin/env node
// startBroker() ready time (median of 20), `railyard start` ready time (median of 5) and idle RSS.
//   npm run build && node bench/startup.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliNodeFlags } from './cli-node-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startBroker } = await import(join(root, 'dist', 'index.js'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm the module graph once, as a test suite's second broker would see it.
await (await startBroker()).stop();
const lib = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const b = await startBroker();
  lib.push(performance.now() - t0);
  await b.stop();
}

const nodeFlags = cliNodeFlags(root);

function cliOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-startup-'));
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [...nodeFlags, join(root, 'dist', 'cli.js'), 'start', '--data-dir', dir, '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.once('data', async () => {
      const ready = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 2000)); // let it settle before reading idle RSS
      const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
      const rssKb = Number(status.match(/VmRSS:\s+(\d+)/)[1]);
      p.on('exit', () => {
        rmSync(dir, { recursive: true, force: true });
        resolve({ ready, rssMb: rssKb / 1024 });
      });
      p.kill('SIGTERM');
    });
    p.on('error', reject);
  });
}
const cli = [];
for (let i = 0; i < 5; i++) cli.push(await cliOnce());
console.log(`startBroker() ready: median ${median(lib).toFixed(1)} ms (20 runs, min ${Math.min(...lib).toFixed(1)}, max ${Math.max(...lib).toFixed(1)})`);
console.log(`railyard start ready: median ${median(cli.map((c) => c.ready)).toFixed(0)} ms (5 runs, process spawn included)`);
console.log(`idle RSS after start: median ${median(cli.map((c) => c.rssMb)).toFixed(1)} MB (node ${nodeFlags.join(' ')})`);
