#!/usr/bin/env node
// Produce and consume throughput with kcat, 1 KiB records, against Railyard and against librdkafka's
// in-memory mock broker side by side in one run (same kcat commands), with broker CPU per GB.
//   node bench/kafka/kcat-compare.mjs [--records 200000] [--rounds 2] [--targets railyard,mock] [--bootstrap HOST:PORT]
// `--bootstrap` measures any running broker instead (its CPU is then not measured).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliNodeFlags } from '../cli-node-flags.mjs';
import { inputFile } from './kcat-tools.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    targets: { type: 'string', default: 'railyard,mock' },
    bootstrap: { type: 'string' },
    partitions: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
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
  const proc = spawn(process.execPath, [...cliNodeFlags(root), join(root, 'dist', 'cli.js'), 'start', '--data-dir', join(dir, 'data'), '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0', '--config', conf, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bootstrap = await waitLine(proc, (l) => l.match(/kafka=(\S+)/)?.[1], 'railyard');
  return { name: 'railyard', bootstrap, pid: proc.pid, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }).then(() => rmSync(dir, { recursive: true, force: true })) };
}

async function startMock(topics) {
  // Every topic the bench uses is created up front with the same partition count Railyard gives them.
  const spec = topics.map((t) => `${t}:${partitions}`).join(',');
  const proc = spawn('python3', [join(root, '..', 'shared', 'tools', 'kafka-mock-broker.py'), '--topics', spec, '--lifetime', '1800'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const info = await waitLine(proc, (l) => (l.startsWith('{') ? JSON.parse(l) : undefined), 'mock');
  // The mock runs inside the python process (ctypes), so its pid is the one whose CPU counts.
  return { name: 'mock', bootstrap: info.bootstrap, pid: info.pid ?? proc.pid, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }) };
}

/** Runs kcat; with `sumSizes` its stdout is one payload size per line (`-f '%S\n'`), summed here. */
function runKcat(args, stdinFile, sumSizes = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // kcat reads the file itself, as `kcat < file` would: piping it through this process (a read
    // stream into kcat's stdin) cost 1.0-1.5 s of CPU per GB here, on the two cores the broker and kcat
    // share, as much as the broker itself.
    const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
    const p = spawn('kcat', args, { stdio: [stdin, sumSizes ? 'pipe' : 'ignore', 'pipe'] });
    let bytes = 0;
    let messages = 0;
    let rest = '';
    let err = '';
    if (sumSizes) {
      p.stdout.setEncoding('latin1');
      p.stdout.on('data', (d) => {
        const lines = (rest + d).split('\n');
        rest = lines.pop();
        for (const l of lines) {
          bytes += Number(l);
          messages++;
        }
      });
    }
    p.stderr.on('data', (d) => (err += d.toString()));
    if (typeof stdin === 'number') closeSync(stdin);
    p.on('close', (code) => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`));
      else resolve({ secs, bytes, messages });
    });
  });
}

const produceArgs = (target, topic, z) => ['-P', '-b', target.bootstrap, '-t', topic, '-z', z, '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.kbytes=1048576'];
// The payload sizes alone go through the pipe to this process, so counting costs the machine next to nothing.
const consumeArgs = (target, topic) => ['-C', '-b', target.bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%S\n', '-X', 'fetch.max.bytes=52428800'];

/**
 * CPU of this process's reaped children (cutime + cstime): around one kcat run, kcat's own CPU, since
 * the brokers are reaped only at the end.
 */
function childrenCpuSeconds() {
  const f = readFileSync('/proc/self/stat', 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICK;
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
function machineJiffies() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const idle = v[3] + v[4]; // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function timed(target, fn) {
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const kcat0 = childrenCpuSeconds();
  const m0 = machineJiffies();
  const r = await fn();
  const m1 = machineJiffies();
  return { ...r, cpu: target.pid ? cpuSeconds(target.pid) - cpu0 : NaN, kcatCpu: childrenCpuSeconds() - kcat0, busy: (m1.busy - m0.busy) / (m1.total - m0.total) };
}

/** Topic creation, connection set-up and the JIT's first compilations are one-off costs: paid here, not measured. */
async function warmUp(target, warmFile) {
  await runKcat(produceArgs(target, 'warm', 'none'), warmFile);
  await runKcat(produceArgs(target, 'warm', 'lz4'), warmFile);
  await runKcat(consumeArgs(target, 'warm'), null, true);
  for (const z of ['none', 'lz4']) for (let r = 0; r < rounds; r++) await runKcat(['-L', '-b', target.bootstrap, '-t', `${z}-${r}`]);
}

async function measure(target, file, round) {
  const rows = [];
  const size = statSync(file).size;
  for (const z of ['none', 'lz4']) {
    const p = await timed(target, () => runKcat(produceArgs(target, `${z}-${round}`, z), file));
    rows.push({ target: target.name, scenario: `produce ${z}`, MBps: size / 1e6 / p.secs, secs: p.secs, brokerCpuS: p.cpu, cpuSPerGB: p.cpu / (size / 1e9), kcatSPerGB: p.kcatCpu / (size / 1e9), busy: p.busy });
  }
  for (const z of ['none', 'lz4']) {
    // Payload bytes delivered (what the application reads); for lz4 far fewer bytes cross the socket.
    const c = await timed(target, () => runKcat(consumeArgs(target, `${z}-${round}`), null, true));
    // librdkafka 2.0.2's mock stops serving some of a 64-partition topic (kcat -e then ends early, and
    // without -e it stalls), so the records actually read are shown and the per-byte figures use them.
    rows.push({ target: target.name, scenario: `consume ${z}`, MBps: c.bytes / 1e6 / c.secs, secs: c.secs, brokerCpuS: c.cpu, cpuSPerGB: c.cpu / (c.bytes / 1e9), kcatSPerGB: c.kcatCpu / (c.bytes / 1e9), busy: c.busy, read: c.messages });
  }
  return rows;
}

const rounds = Number(values.rounds);
const file = inputFile(records);
const warmFile = join(tmpdir(), 'railyard-bench-warm-20000x1k.txt');
writeFileSync(warmFile, readFileSync(file).subarray(0, Math.min(records, 20000) * 1024));
const all = [];
if (values.bootstrap) {
  const target = { name: values.bootstrap, bootstrap: values.bootstrap, pid: 0 };
  await warmUp(target, warmFile);
  for (let round = 0; round < rounds; round++) all.push(...(await measure(target, file, round)));
} else {
  const topics = ['warm'];
  for (let r = 0; r < rounds; r++) topics.push(`none-${r}`, `lz4-${r}`);
  const targets = [];
  try {
    for (const name of values.targets.split(',')) targets.push(name === 'mock' ? await startMock(topics) : await startRailyard());
    for (const t of targets) await warmUp(t, warmFile);
    // Rounds alternate between the targets so that noise from other work on the machine hits both alike.
    for (let round = 0; round < rounds; round++) for (const t of targets) all.push(...(await measure(t, file, round)));
  } finally {
    for (const t of targets) await t.stop();
  }
}
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
console.log(`kcat, ${records} x 1 KiB records, ${partitions} partitions, ${rounds} rounds after a warm-up, ${new Date().toISOString()}`);
// kcat s/GB is the client's own CPU; busy is the share of both cores in use during the run: near 100 %,
// throughput is set by the CPU that broker and kcat need per GB together.
console.log('target     scenario        MB/s    secs  brokerCPU(s)  CPU s/GB  kcat s/GB  busy  records read');
for (const r of all) console.log(`${r.target.padEnd(10)} ${r.scenario.padEnd(14)} ${fmt(r.MBps).padStart(7)} ${fmt(r.secs, 2).padStart(7)} ${fmt(r.brokerCpuS, 2).padStart(13)} ${fmt(r.cpuSPerGB, 2).padStart(9)} ${fmt(r.kcatSPerGB, 2).padStart(10)} ${`${fmt(r.busy * 100, 0)}%`.padStart(5)}  ${r.read === undefined ? '' : `${r.read}${r.read === records ? '' : ' (incomplete)'}`}`);
