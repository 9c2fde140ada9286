#!/usr/bin/env node
// Produce and consume throughput with kcat, 1 KiB records, against Railyard and against librdkafka's
// in-memory mock broker side by side in one run (same kcat commands), with broker CPU per GB.
//   node bench/kafka/kcat-compare.mjs [--records 200000] [--targets railyard,mock] [--bootstrap HOST:PORT]
// `--bootstrap` measures any running broker instead (its CPU is then not measured).
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    targets: { type: 'string', default: 'railyard,mock' },
    bootstrap: { type: 'string' },
    partitions: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '1' },
  },
});
const records = Number(values.records);
const partitions = Number(values.partitions);
const TICK = 100; // USER_HZ on Linux

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}

function inputFile() {
  const path = join(tmpdir(), `railyard-bench-${records}x1k.txt`);
  if (existsSync(path) && statSync(path).size === records * 1024) return path;
  const line = Buffer.alloc(1024, 'x');
  for (let i = 0; i < 1023; i++) line[i] = 97 + ((i * 7) % 26);
  line[1023] = 10;
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => line));
  const parts = [];
  for (let i = 0; i < records / 1000; i++) parts.push(chunk);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

function waitLine(proc, predicate, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} not ready`)), 20000);
    proc.stdout.on('data', (d) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        const v = predicate(line);
        if (v) {
          clearTimeout(t);
          resolve(v);
          return;
        }
      }
    });
    proc.on('exit', (c) => reject(new Error(`${what} exited ${c}`)));
  });
}

async function startRailyard() {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-bench-'));
  const conf = join(dir, 'conf.json');
  writeFileSync(conf, JSON.stringify({ kafka: { defaultPartitions: partitions } }));
  const proc = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'start', '--data-dir', join(dir, 'data'), '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0', '--config', conf, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bootstrap = await waitLine(proc, (l) => l.match(/kafka=(\S+)/)?.[1], 'railyard');
  return { name: 'railyard', bootstrap, pid: proc.pid, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }).then(() => rmSync(dir, { recursive: true, force: true })) };
}

async function startMock() {
  const proc = spawn('python3', [join(root, '..', 'shared', 'tools', 'kafka-mock-broker.py'), '--topics', `t:${partitions}`, '--lifetime', '600'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const info = await waitLine(proc, (l) => (l.startsWith('{') ? JSON.parse(l) : undefined), 'mock');
  return { name: 'mock', bootstrap: info.bootstrap, pid: info.pid ?? proc.pid, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }) };
}

function runKcat(args, stdinFile) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('kcat', args, { stdio: [stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let err = '';
    p.stdout.on('data', (d) => (bytes += d.length));
    p.stderr.on('data', (d) => (err += d.toString()));
    if (stdinFile) createReadStream(stdinFile).pipe(p.stdin);
    p.on('exit', (code) => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`));
      else resolve({ secs, bytes });
    });
  });
}

async function measure(target, file) {
  const rows = [];
  const size = statSync(file).size;
  for (const z of ['none', 'lz4']) {
    const topic = `t`;
    const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
    const p = await runKcat(['-P', '-b', target.bootstrap, '-t', topic, '-z', z, '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.kbytes=1048576'], file);
    const cpu = target.pid ? cpuSeconds(target.pid) - cpu0 : NaN;
    rows.push({ target: target.name, scenario: `produce ${z}`, MBps: size / 1e6 / p.secs, secs: p.secs, brokerCpuS: cpu, cpuSPerGB: cpu / (size / 1e9) });
  }
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const c = await runKcat(['-C', '-b', target.bootstrap, '-t', 't', '-o', 'beginning', '-e', '-q', '-X', 'fetch.max.bytes=52428800']);
  const cpu = target.pid ? cpuSeconds(target.pid) - cpu0 : NaN;
  rows.push({ target: target.name, scenario: 'consume all', MBps: c.bytes / 1e6 / c.secs, secs: c.secs, brokerCpuS: cpu, cpuSPerGB: cpu / (c.bytes / 1e9), bytes: c.bytes });
  return rows;
}

const file = inputFile();
const all = [];
if (values.bootstrap) {
  all.push(...(await measure({ name: values.bootstrap, bootstrap: values.bootstrap, pid: 0 }, file)));
} else {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const name of values.targets.split(',')) {
      const target = name === 'mock' ? await startMock() : await startRailyard();
      try {
        all.push(...(await measure(target, file)));
      } finally {
        await target.stop();
      }
    }
  }
}
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`kcat, ${records} x 1 KiB records, ${partitions} partitions, ${new Date().toISOString()}`);
console.log('target     scenario        MB/s    secs  brokerCPU(s)  CPU s/GB');
for (const r of all) console.log(`${r.target.padEnd(10)} ${r.scenario.padEnd(14)} ${fmt(r.MBps).padStart(7)} ${fmt(r.secs, 2).padStart(7)} ${fmt(r.brokerCpuS, 2).padStart(13)} ${fmt(r.cpuSPerGB, 2).padStart(9)}`);
