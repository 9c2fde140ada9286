// Paced exactly as latency-worker.mjs (1 KiB messages, sent in 1 ms ticks, the consumer acknowledging
// each one), but over bare TCP through floor-relay.mjs: what is left is the machine's share of (d).
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { port, ratePerSec, seconds, warmSeconds = 0 } = workerData;
const SIZE = 1024;
const connect = () =>
  new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
// The relay takes the first connection as its consumer: connect it first and let it settle.
const sub = await connect();
await new Promise((r) => setTimeout(r, 50));
const pub = await connect();
// The first `warm` messages are sent and relayed but not measured, as in latency-worker.mjs.
const warm = Math.round(ratePerSec * warmSeconds);
const n = warm + ratePerSec * seconds;
const samples = new Float64Array(n - warm);
let got = 0;
let partial = Buffer.alloc(0);
const ack = Buffer.alloc(13);
const done = new Promise((resolve) => {
  sub.on('data', (chunk) => {
    let buf = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
    let at = 0;
    for (; at + SIZE <= buf.length && got < n; at += SIZE) {
      const latency = performance.now() - buf.readDoubleBE(at);
      if (got++ >= warm) samples[got - 1 - warm] = latency;
      sub.write(ack);
    }
    partial = Buffer.from(buf.subarray(at));
    if (got === n) resolve();
  });
});
const t0 = performance.now();
let sent = 0;
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * ratePerSec));
    while (sent < due) {
      const body = Buffer.alloc(SIZE);
      body.writeDoubleBE(performance.now(), 0);
      pub.write(body);
      sent++;
    }
    if (sent < n) setTimeout(tick, 1);
    else resolve();
  };
  tick();
});
await done;
pub.destroy();
sub.destroy();
parentPort.postMessage({ samples });
