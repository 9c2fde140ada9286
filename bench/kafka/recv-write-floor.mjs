#!/usr/bin/env node
// What "≤ half the mock's CPU per GB" means on this machine: rounds that alternate the librdkafka mock
// broker's produce CPU per GB (the same kcat command as kcat-compare.mjs) with the floor of receiving
// bytes from a socket and writing them to files, measured by a small C program (recv-write-floor.c,
// built here with cc): recv only, recv + 16 KiB writes, recv + 1 MiB writes, splice(2), and O_DIRECT
// writes (no page cache).
//   node bench/kafka/recv-write-floor.mjs [--records 300000] [--rounds 3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inputFile, procCpu, runKcat } from './kcat-tools.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { records: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '3' } } });
const records = Number(values.records);

const work = mkdtempSync(join(tmpdir(), 'recv-write-floor-'));
const floorBin = join(work, 'recv-write-floor');
execFileSync('cc', ['-O2', '-o', floorBin, join(here, 'recv-write-floor.c')]);
const file = inputFile(records);
const size = statSync(file).size;
const mb = String(Math.round(size / 1e6));
const floors = [
  ['recv only', ['recv', mb, '64', '1048576']],
  ['recv + write 16 KiB', ['write', mb, '64', '16384']],
  ['recv + write 1 MiB', ['write', mb, '64', '1048576']],
  ['splice 256 KiB', ['splice', mb, '64', '262144']],
  ['recv + O_DIRECT write 1 MiB', ['direct', mb, '64', '1048576']],
];

const topics = Array.from({ length: Number(values.rounds) }, (_, r) => `t-${r}:64`).concat('warm:64');
const mock = spawn('python3', [join(here, '..', '..', '..', 'shared', 'tools', 'kafka-mock-broker.py'), '--topics', topics.join(','), '--lifetime', '900'], { stdio: ['ignore', 'pipe', 'ignore'] });
const info = await new Promise((resolve, reject) => {
  let buf = '';
  mock.stdout.on('data', (d) => {
    buf += d;
    const line = buf.split('\n').find((l) => l.startsWith('{'));
    if (line) resolve(JSON.parse(line));
  });
  mock.on('exit', (c) => reject(new Error(`mock exited ${c}`)));
});
const produce = (topic) => runKcat(['-P', '-b', info.bootstrap, '-t', topic, '-z', 'none', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.kbytes=1048576'], file);
try {
  await produce('warm');
  console.log(`${records} x 1 KiB, 64 partitions, ${new Date().toISOString()}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log('round  what                           MB/s   user s/GB  sys s/GB  CPU s/GB');
  const row = (r, what, mbps, u, s) => console.log(`${String(r).padStart(5)}  ${what.padEnd(29)} ${mbps.toFixed(0).padStart(6)} ${u.toFixed(3).padStart(10)} ${s.toFixed(3).padStart(9)} ${(u + s).toFixed(3).padStart(9)}`);
  for (let r = 0; r < Number(values.rounds); r++) {
    const pid = info.pid ?? mock.pid;
    const c0 = procCpu(pid);
    const secs = await produce(`t-${r}`);
    const c1 = procCpu(pid);
    const gb = size / 1e9;
    row(r, 'mock broker (kcat produce)', size / 1e6 / secs, (c1.user - c0.user) / gb, (c1.sys - c0.sys) / gb);
    for (const [what, args] of floors) {
      // Each floor writes into a directory of its own, kept until the end like the broker's segments.
      const out = execFileSync(floorBin, [...args, join(work, `out-${r}-${args[0]}-${args[3]}`)], { encoding: 'utf8' });
      const m = Object.fromEntries(out.trim().split(' ').slice(1).map((kv) => kv.split('=')));
      row(r, what, Number(m['MB/s']), Number(m.user), Number(m.sys));
    }
  }
} finally {
  mock.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
