#!/usr/bin/env node
// Recovery after kill -9: fill one partition with ~1 GiB through kcat, SIGKILL the broker,
// restart it on the same data dir and time until the ready line (recovery included).
//   npm run build && node bench/kafka/recovery.mjs [--mib 1024]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliNodeFlags } from '../cli-node-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' } } });
const mib = Number(values.mib);
const dir = mkdtempSync(join(tmpdir(), 'railyard-recovery-'));

function start() {
  const t0 = performance.now();
  const p = spawn(process.execPath, [...cliNodeFlags(root), join(root, 'dist', 'cli.js'), 'start', '--data-dir', join(dir, 'data'), '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    p.stdout.once('data', (d) => resolve({ p, ms: performance.now() - t0, bootstrap: d.toString().match(/kafka=(\S+)/)[1] }));
    p.on('exit', (c) => reject(new Error(`exited ${c}`)));
  });
}

const line = Buffer.alloc(1024, 'r');
line[1023] = 10;
const file = join(dir, 'in.txt');
writeFileSync(file, Buffer.concat(Array.from({ length: 64 * 1024 }, () => line))); // 64 MiB
const first = await start();
for (let i = 0; i < mib / 64; i++) {
  const r = spawnSync('kcat', ['-P', '-b', first.bootstrap, '-t', 'big', '-p', '0', '-l', file, '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('kcat failed');
}
first.p.kill('SIGKILL');
await new Promise((r) => first.p.on('exit', r));
const again = await start();
const count = spawnSync('kcat', ['-Q', '-b', again.bootstrap, '-t', 'big:0:-1'], { encoding: 'utf8' });
console.log(`partition of ${mib} MiB: restart after kill -9 ready in ${again.ms.toFixed(0)} ms (process start + recovery); end offset: ${count.stdout.trim()}`);
again.p.kill('SIGTERM');
await new Promise((r) => again.p.on('exit', r));
rmSync(dir, { recursive: true, force: true });
