#!/usr/bin/env node
// Broker CPU per GB of kcat produce (1 KiB records, 64 partitions), split into user and system time,
// over several rounds against one Railyard process: the figure to compare before/after a change on the
// produce path, steadier than MB/s on a shared machine. `--prof DIR` writes a V8 CPU profile there.
// After each round this process writes the same bytes to 64 files itself in 16 KiB writes: the system
// time of that, "file floor", is what the page cache costs on this machine at that moment, which on
// this VM swings between 0.2 and 3 s/GB from run to run. (The broker's writes are larger: kcat sends
// ~1 MB per partition per request, about one file write per MB; 1 MiB writes cost ~0.1 s/GB less than
// 16 KiB ones, see bench/kafka/recv-write-floor.mjs.)
// reads/MB and writes/MB are the broker's read and write system calls (socket and file alike, from
// /proc/PID/io) per MB produced.
//   node bench/kafka/produce-cpu.mjs [--records 500000] [--rounds 3] [--codec none] [--prof DIR]
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writevSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliNodeFlags } from '../cli-node-flags.mjs';
import { inputFile, procCpu, runKcat } from './kcat-tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '500000' },
    rounds: { type: 'string', default: '3' },
    codec: { type: 'string', default: 'none' },
    prof: { type: 'string' },
  },
});
const records = Number(values.records);

/** System CPU seconds per GB of writing `bytes` to 64 new files in 16 KiB pieces, from this process. */
function fileFloor(where, bytes) {
  mkdirSync(where);
  const fds = Array.from({ length: 64 }, (_, i) => openSync(join(where, String(i)), 'a'));
  const piece = Buffer.alloc(16 * 1024, 0x61);
  const before = process.resourceUsage().systemCPUTime;
  for (let w = 0, i = 0; w < bytes; w += piece.length, i++) writevSync(fds[i % 64], [piece]);
  const sys = (process.resourceUsage().systemCPUTime - before) / 1e6;
  for (const fd of fds) closeSync(fd);
  return sys / (bytes / 1e9);
}

const dir = mkdtempSync(join(tmpdir(), 'railyard-produce-cpu-'));
const conf = join(dir, 'conf.json');
writeFileSync(conf, JSON.stringify({ kafka: { defaultPartitions: 64 } }));
const nodeArgs = values.prof ? ['--cpu-prof', '--cpu-prof-dir', values.prof] : [];
const proc = spawn(process.execPath, [...cliNodeFlags(root), ...nodeArgs, join(root, 'dist', 'cli.js'), 'start', '--data-dir', join(dir, 'data'), '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0', '--config', conf, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
const bootstrap = await new Promise((resolve, reject) => {
  let buf = '';
  proc.stdout.on('data', (d) => {
    buf += d;
    const m = buf.match(/kafka=(\S+)/);
    if (m) resolve(m[1]);
  });
  proc.on('exit', (c) => reject(new Error(`railyard exited ${c}`)));
});
const produce = (topic, file) => runKcat(['-P', '-b', bootstrap, '-t', topic, '-z', values.codec, '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.kbytes=1048576'], file);
try {
  const file = inputFile(records);
  await produce('warm', file);
  // Topic creation (64 partition directories each) is a one-off cost, paid before the measurement.
  for (let r = 0; r < Number(values.rounds); r++) await runKcat(['-L', '-b', bootstrap, '-t', `t-${r}`]);
  const size = statSync(file).size;
  console.log(`kcat produce -z ${values.codec}, ${records} x 1 KiB, 64 partitions, ${new Date().toISOString()}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log('round   MB/s   user s/GB  sys s/GB  CPU s/GB  file floor sys s/GB  page faults/MB  reads/MB  writes/MB');
  for (let r = 0; r < Number(values.rounds); r++) {
    const c0 = procCpu(proc.pid);
    const secs = await produce(`t-${r}`, file);
    const c1 = procCpu(proc.pid);
    const gb = size / 1e9;
    const u = (c1.user - c0.user) / gb;
    const s = (c1.sys - c0.sys) / gb;
    // Kept until the end: deleting them would hand the next round recycled pages.
    const floor = fileFloor(join(dir, `floor-${r}`), size);
    console.log(`${String(r).padStart(5)} ${(size / 1e6 / secs).toFixed(1).padStart(6)} ${u.toFixed(2).padStart(10)} ${s.toFixed(2).padStart(9)} ${(u + s).toFixed(2).padStart(9)} ${floor.toFixed(2).padStart(20)} ${((c1.faults - c0.faults) / (size / 1e6)).toFixed(1).padStart(15)} ${((c1.reads - c0.reads) / (size / 1e6)).toFixed(1).padStart(9)} ${((c1.writes - c0.writes) / (size / 1e6)).toFixed(1).padStart(10)}`);
  }
} finally {
  await new Promise((r) => {
    proc.on('exit', r);
    proc.kill('SIGTERM');
  });
  rmSync(dir, { recursive: true, force: true });
}
