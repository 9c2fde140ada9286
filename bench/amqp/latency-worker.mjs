// Measures end-to-end latency in a fresh thread, so garbage left by earlier scenarios in the main
// thread does not show up as broker latency. Plain JavaScript for the same reason as publisher-worker.mjs.
//
// The first `warmSeconds` of traffic are sent and consumed on the same connections but not measured:
// JIT state is per thread, so a warm-up run in another worker left this one's amqplib cold, and its
// first ~500 ms (compiling the publish, parse and ack paths) held 35-80% of the over-p99 samples
// against either broker.
import { readlinkSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import amqp from 'amqplib';

const { url, ratePerSec, seconds, warmSeconds = 0, queue } = workerData;
const pubConn = await amqp.connect(url, { noDelay: true });
const subConn = await amqp.connect(url, { noDelay: true });
const pub = await pubConn.createChannel();
const sub = await subConn.createChannel();
await pub.assertQueue(queue, { durable: false });
await sub.prefetch(1000);
const warm = Math.round(ratePerSec * warmSeconds);
const n = warm + ratePerSec * seconds;
// Preallocated typed arrays: JS arrays of 25,000+ doubles (three with a trace) were re-allocated and
// copied as they grew, garbage of this thread's own bookkeeping in the middle of the measurement.
const samples = new Float64Array(n - warm);
let measured = 0;
// With workerData.trace, when each message was sent (ms since the epoch) next to its latency, to
// line the tail up against the broker's GC trace.
const sentAt = workerData.trace ? new Float64Array(n - warm) : null;
// The same send times as performance.now() readings, converted to CLOCK_MONOTONIC at the end.
const sentMono = workerData.trace ? new Float64Array(n - warm) : null;
// And this thread's own collections (start, epoch ms, duration and kind: 1 minor, 2 major, 4 incremental, 8 weak callbacks): a client pause delays every
// delivery in flight just as a broker pause does.
const gcs = workerData.trace ? [] : null;
const gcObserver = gcs && new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push(performance.timeOrigin + e.startTime, e.duration, e.detail?.kind ?? 0);
});
gcObserver?.observe({ entryTypes: ['gc'] });
let received = 0;
const done = new Promise((resolve) => {
  void sub.consume(queue, (m) => {
    if (!m) return;
    const sent = m.content.readDoubleBE(0);
    // One queue, one consumer: deliveries come in publish order, so the first `warm` are the warm-up's.
    if (received++ >= warm) {
      samples[measured] = performance.now() - sent;
      if (sentAt) {
        sentAt[measured] = performance.timeOrigin + sent;
        sentMono[measured] = sent;
      }
      measured++;
    }
    sub.ack(m);
    if (received === n) resolve();
  });
});
const body = Buffer.alloc(1024);
const t0 = performance.now();
let sent = 0;
const lag = [];
// Paced in 1 ms ticks so the offered load is steady, not bursts.
await new Promise((resolve) => {
  let expected = t0;
  const tick = () => {
    // How late this thread's own timer fired: when it is comparable to the measured p99, the tail
    // is the client being descheduled (machine load), not the broker.
    const now = performance.now();
    if (sent >= warm) lag.push(Math.max(0, now - expected));
    expected = now + 1;
    const due = Math.min(n, Math.floor(((performance.now() - t0) / 1000) * ratePerSec));
    while (sent < due) {
      body.writeDoubleBE(performance.now(), 0);
      pub.sendToQueue(queue, body);
      sent++;
    }
    if (sent < n) setTimeout(tick, 1);
    else resolve();
  };
  tick();
});
await done;
gcObserver?.disconnect();
const total = (performance.now() - t0) / 1000 - warmSeconds;
await pub.deleteQueue(queue);
await pubConn.close();
await subConn.close();
// performance.now() and process.hrtime() both read CLOCK_MONOTONIC: this offset puts send times on the
// clock `perf record -k mono` (perf sched) stamps its events with, which the epoch times cannot be
// lined up with to better than a millisecond.
// This thread's id, to find it in a scheduler trace ("PID/task/TID").
const tid = workerData.trace ? Number(readlinkSync('/proc/thread-self').split('/').pop()) : 0;
const monoOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
parentPort.postMessage({ samples: samples.subarray(0, measured), seconds: total, lag: Float64Array.from(lag), sentAt: sentAt && sentAt.subarray(0, measured), sentMono: sentMono && sentMono.subarray(0, measured), gcs: gcs && Float64Array.from(gcs), monoOffset, tid });
