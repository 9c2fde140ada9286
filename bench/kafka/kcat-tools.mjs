// What the kcat-driven Kafka benches share: the input file, a process's CPU from /proc, and running
// kcat with its input read by kcat itself.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TICK = 100; // USER_HZ on Linux

/** `records` lines of 1 KiB (1023 printable bytes and a newline) in a file kept between runs. */
export function inputFile(records) {
  const path = join(tmpdir(), `railyard-bench-${records}x1k.txt`);
  if (existsSync(path) && statSync(path).size === records * 1024) return path;
  const line = Buffer.alloc(1024);
  for (let i = 0; i < 1023; i++) line[i] = 97 + ((i * 7) % 26);
  line[1023] = 10;
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => line));
  writeFileSync(path, Buffer.concat(Array.from({ length: Math.ceil(records / 1000) }, () => chunk)).subarray(0, records * 1024));
  return path;
}

/** User and system CPU seconds of a process, its page faults, and its read/write syscalls when /proc/PID/io is readable. */
export function procCpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  let reads = NaN;
  let writes = NaN;
  try {
    const io = Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')));
    reads = Number(io.syscr);
    writes = Number(io.syscw);
  } catch {}
  return { user: Number(fields[11]) / TICK, sys: Number(fields[12]) / TICK, faults: Number(fields[7]), reads, writes };
}

/** Runs kcat to completion; resolves with its wall time in seconds. */
export function runKcat(args, stdinFile) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // kcat reads the file itself, as `kcat < file` would: piping it through this process (a read
    // stream into kcat's stdin) cost 1.0-1.5 s of CPU per GB here, on the two cores the broker and kcat
    // share, as much as the broker itself.
    const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
    const p = spawn('kcat', args, { stdio: [stdin, 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    if (typeof stdin === 'number') closeSync(stdin);
    p.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`kcat exited ${code}: ${err.slice(0, 300)}`))));
  });
}
