#!/usr/bin/env node
// kafkajs: produce 100k x 1 KiB (batches of 1000, acks=1), then a consumer group reads them all.
// Prints throughput and CPU seconds of the client (this process) and of the broker.
//   npm run build && node bench/kafka/kafkajs.mjs [--bootstrap HOST:PORT] [--records 100000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { cliNodeFlags } from '../cli-node-flags.mjs';

const { Kafka, logLevel } = kafkajs;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { bootstrap: { type: 'string' }, records: { type: 'string', default: '100000' } } });
const records = Number(values.records);

function brokerCpu(pid) {
  if (!pid) return NaN;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) / 100;
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

let bootstrap = values.bootstrap;
let proc;
let dir;
if (!bootstrap) {
  dir = mkdtempSync(join(tmpdir(), 'railyard-kjs-'));
  proc = spawn(process.execPath, [...cliNodeFlags(root), join(root, 'dist', 'cli.js'), 'start', '--data-dir', dir, '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  bootstrap = await new Promise((r) => proc.stdout.once('data', (d) => r(d.toString().match(/kafka=(\S+)/)[1])));
}
const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const topic = `bench-${Date.now()}`;
await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
const producer = kafka.producer();
await producer.connect();
const value = Buffer.alloc(1024, 'k');
const batch = Array.from({ length: 1000 }, (_, i) => ({ key: String(i), value }));

// Broker and client JIT warm-up, outside the measurement.
await admin.createTopics({ topics: [{ topic: `${topic}-warm`, numPartitions: 4 }] });
for (let i = 0; i < 10; i++) await producer.send({ topic: `${topic}-warm`, acks: 1, messages: batch });

let c0 = selfCpu();
let b0 = brokerCpu(proc?.pid);
let t0 = performance.now();
const inflight = [];
for (let i = 0; i < records / 1000; i++) {
  inflight.push(producer.send({ topic, acks: 1, messages: batch }));
  if (inflight.length >= 8) await inflight.shift();
}
await Promise.all(inflight);
let secs = (performance.now() - t0) / 1000;
const produce = { secs, clientCpu: selfCpu() - c0, brokerCpu: brokerCpu(proc?.pid) - b0 };
await producer.disconnect();

const consumer = kafka.consumer({ groupId: `g-${topic}`, maxBytes: 50 * 1024 * 1024 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
// The clock starts at the first batch: joining the group (session and rebalance delays) is not throughput.
let started = false;
const start = () => {
  started = true;
  c0 = selfCpu();
  b0 = brokerCpu(proc?.pid);
  t0 = performance.now();
};
let seen = 0;
await new Promise((resolve) => {
  consumer.run({
    eachBatch: async ({ batch: b }) => {
      if (!started) start();
      seen += b.messages.length;
      if (seen >= records) resolve();
    },
  });
});
secs = (performance.now() - t0) / 1000;
const consume = { secs, clientCpu: selfCpu() - c0, brokerCpu: brokerCpu(proc?.pid) - b0 };
await consumer.disconnect();
await admin.disconnect();
if (proc) {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
const mb = (records * 1024) / 1e6;
const row = (name, r) => `${name.padEnd(8)} ${(records / r.secs).toFixed(0).padStart(8)} msg/s ${(mb / r.secs).toFixed(1).padStart(7)} MB/s   client CPU ${r.clientCpu.toFixed(2)} s   broker CPU ${Number.isFinite(r.brokerCpu) ? r.brokerCpu.toFixed(2) : '-'} s`;
console.log(`kafkajs, ${records} x 1 KiB, 4 partitions, ${bootstrap}`);
console.log(row('produce', produce));
console.log(row('consume', consume));
