/**
 * AMQP throughput and latency scenarios, run with amqplib against any broker URL
 * (Railyard or RabbitMQ), so both are measured with the same client in the same way.
 */
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import amqp from 'amqplib';

export interface Result {
  scenario: string;
  messages: number;
  seconds: number;
  rate: number;
  p50?: number;
  p99?: number;
  /** (d) only: 99th percentile of the publishing thread's own timer lateness, in ms. */
  clientLagP99?: number;
  /** (d) only: every measured latency (ms), so rounds can be pooled into one percentile. */
  samples?: Float64Array;
  /** Messages the broker moved during the run when more than `messages` (an unmeasured warm-up). */
  costMessages?: number;
  /** Broker-side costs over the scenario, when the bench started the broker itself (run.ts). */
  broker?: BrokerCost;
}

export interface BrokerCost {
  cpuUsPerMsg: number;
  heapBytesPerMsg: number;
  scavenges: number;
  markSweeps: number;
  maxGcMs: number;
  /** Heap in use and old space once the scenario finished. */
  usedHeapMB: number;
  oldSpaceMB: number;
  /** The broker's event-loop delay over the scenario (ms). */
  loopP99: number;
  loopMax: number;
}

/** Wraps each scenario run, e.g. to sample the broker process before and after it. */
export type Measure = (run: () => Promise<Result>) => Promise<Result>;

const BODY = Buffer.alloc(1024, 0x61);
/** Nagle off on the client too: otherwise small acks wait for the peer's delayed ACK (same for every broker). */
const SOCKET_OPTS = { noDelay: process.env.BENCH_NODELAY !== '0' };

function qname(tag: string): string {
  return `bench-${tag}-${process.pid}-${Date.now()}`;
}

/** Publishes `n` messages respecting socket back-pressure (amqplib's publish returns false when full). */
async function publishAll(ch: amqp.Channel, exchange: string, key: string, n: number, opts: amqp.Options.Publish = {}): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (!ch.publish(exchange, key, BODY, opts)) await new Promise((r) => ch.once('drain', r));
  }
}

/** Publishes `count` 1 KiB messages from a worker thread (see publisher-worker.mjs). */
function publishInWorker(url: string, exchange: string, routingKey: string, count: number): Promise<void> {
  const w = new Worker(new URL('./publisher-worker.mjs', import.meta.url), {
    workerData: { url, exchange, routingKey, count, bodySize: BODY.length },
  });
  return new Promise((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
}

/** Consumes until `n` messages arrived; acks with multiple every 100 when `ack`. */
function consumeN(ch: amqp.Channel, queue: string, n: number, ack: boolean): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    void ch.consume(
      queue,
      (m) => {
        if (!m) return;
        got++;
        if (ack && (got % 100 === 0 || got === n)) ch.ack(m, true);
        if (got === n) resolve();
      },
      { noAck: !ack },
    );
  });
}

export async function transientPubSub(url: string, n = 200_000): Promise<Result> {
  const pubConn = await amqp.connect(url, SOCKET_OPTS);
  const subConn = await amqp.connect(url, SOCKET_OPTS);
  const pub = await pubConn.createChannel();
  const sub = await subConn.createChannel();
  const q = qname('a');
  await pub.assertQueue(q, { durable: false, autoDelete: false });
  await sub.prefetch(1000);
  const t0 = performance.now();
  const done = consumeN(sub, q, n, true);
  await Promise.all([publishInWorker(url, '', q, n), done]);
  const seconds = (performance.now() - t0) / 1000;
  await pub.deleteQueue(q);
  await pubConn.close();
  await subConn.close();
  return { scenario: '(a) transient publish+consume 1 KiB', messages: n, seconds, rate: n / seconds };
}

export async function persistentConfirms(url: string, n = 50_000, inFlight = 1000): Promise<Result> {
  const conn = await amqp.connect(url, SOCKET_OPTS);
  const ch = await conn.createConfirmChannel();
  const q = qname('b');
  await ch.assertQueue(q, { durable: true });
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let confirmed = 0;
    const pump = () => {
      while (sent < n && sent - confirmed < inFlight) {
        sent++;
        ch.sendToQueue(q, BODY, { persistent: true }, (err) => {
          if (err) return reject(err);
          confirmed++;
          if (confirmed === n) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  await ch.deleteQueue(q);
  await conn.close();
  return { scenario: '(b) persistent + confirms, 1000 in flight', messages: n, seconds, rate: n / seconds };
}

export async function drainPrefilled(url: string, n = 100_000): Promise<Result> {
  const conn = await amqp.connect(url, SOCKET_OPTS);
  const ch = await conn.createConfirmChannel();
  const q = qname('c');
  await ch.assertQueue(q, { durable: false });
  await publishAll(ch, '', q, n);
  await ch.waitForConfirms();
  const sub = await conn.createChannel();
  await sub.prefetch(1000);
  const t0 = performance.now();
  await consumeN(sub, q, n, true);
  const seconds = (performance.now() - t0) / 1000;
  await sub.deleteQueue(q);
  await conn.close();
  return { scenario: '(c) consume pre-filled queue, prefetch 1000', messages: n, seconds, rate: n / seconds };
}

/**
 * Unmeasured seconds before each latency run, in the measuring thread and on its connections, so JIT
 * warm-up of either side does not land in the tail (latency-worker.mjs). One second was not enough:
 * the fresh worker's V8 was still compiling amqplib's paths on its helper threads for the next ~1.5 s
 * (perf: ~50 ms of TurboFan work in the first measured second, jobs of 0.5-28 ms each), and on two
 * cores each job took the CPU the broker or the client's own thread was waiting for.
 * BENCH_WARM_SECONDS overrides.
 */
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 3);

export async function latency(url: string, ratePerSec = 5000, seconds = 5): Promise<Result> {
  // The broker's CPU and allocation are sampled around the whole run, so they are per message of both parts.
  return measureLatency(url, ratePerSec, seconds, WARM_SECONDS);
}

/**
 * The young generation (semi-space, MB) the measuring threads start with. amqplib allocates ~1.7 KB a
 * message, so with V8's default (1 MB, not grown at this survival rate) the client scavenged every
 * ~120 ms for 0.6 ms (p90 1.4 ms), and ~40% of either broker's over-p99 samples were waiting on the
 * client's own collection. V8 reads the flag when an isolate is created, so it reaches workers started
 * after it is set. BENCH_CLIENT_SEMI_SPACE=0 keeps the default.
 *
 * V8 caps it at its maximum (16 MB by default), so this young generation is 16 MB, not 32: the
 * measuring thread scavenges about twice a second (0.4-3.4 ms). Raising both bounds to 64 MB was
 * tried: 3 scavenges a round of 1-6 ms each instead of ~11 mostly under 1 ms, with no clear change in
 * either broker's p99, so the bounds stay as they were.
 */
const CLIENT_SEMI_SPACE_MB = Number(process.env.BENCH_CLIENT_SEMI_SPACE ?? 32);
let clientHeapSet = false;
export function setClientYoungGeneration(): void {
  if (clientHeapSet || CLIENT_SEMI_SPACE_MB <= 0) return;
  clientHeapSet = true;
  v8.setFlagsFromString(`--min-semi-space-size=${CLIENT_SEMI_SPACE_MB}`);
}

async function measureLatency(url: string, ratePerSec: number, seconds: number, warmSeconds: number): Promise<Result> {
  setClientYoungGeneration();
  // BENCH_LATENCY_TRACE=file writes each measured message's send time (epoch ms), latency and send
  // time on CLOCK_MONOTONIC (ms) as CSV.
  const trace = process.env.BENCH_LATENCY_TRACE;
  const w = new Worker(new URL('./latency-worker.mjs', import.meta.url), { workerData: { url, ratePerSec, seconds, warmSeconds, queue: qname('d'), trace: trace !== undefined } });
  const { samples, seconds: total, lag, sentAt, sentMono, gcs, monoOffset, tid } = await new Promise<{ samples: Float64Array; seconds: number; lag: Float64Array; sentAt: Float64Array | null; sentMono: Float64Array | null; gcs: Float64Array | null; monoOffset: number; tid: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  if (trace && sentAt) {
    const rows: string[] = [];
    // Third column: the send time on CLOCK_MONOTONIC (ms), the clock of `perf record -k mono`.
    for (let i = 0; i < samples.length; i++) rows.push(`${sentAt[i]!.toFixed(3)},${samples[i]!.toFixed(3)},${(sentMono![i]! + monoOffset).toFixed(3)}`);
    appendFileSync(trace, rows.join('\n') + '\n');
    // Where this round's rows start, with the measuring thread's id for a scheduler trace.
    appendFileSync(`${trace}.rounds`, `${url},${rows.length},${tid}\n`);
    // The measuring thread's collections next to it, as "start (epoch ms),duration (ms),kind" (as the broker's).
    const gcRows: string[] = [];
    for (let i = 0; gcs && i < gcs.length; i += 3) gcRows.push(`${gcs[i]!.toFixed(3)},${gcs[i + 1]!.toFixed(3)},${gcs[i + 2]!}`);
    if (gcRows.length > 0) appendFileSync(`${trace}.client-gc`, gcRows.join('\n') + '\n');
  }
  const pct = (p: number) => percentile(samples, p);
  const n = samples.length;
  const clientLagP99 = lag.length === 0 ? 0 : percentile(lag, 0.99);
  return { scenario: `(d) latency at ${ratePerSec}/s`, messages: n, seconds: total, rate: n / total, p50: pct(0.5), p99: pct(0.99), clientLagP99, samples, costMessages: n + Math.round(ratePerSec * warmSeconds) };
}

/** The `p` quantile (nearest rank) of `values`, which are not modified. */
export function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function fanout(url: string, n = 50_000, queues = 4): Promise<Result> {
  const conn = await amqp.connect(url, SOCKET_OPTS);
  const pub = await conn.createChannel();
  const x = qname('e');
  await pub.assertExchange(x, 'fanout', { durable: false, autoDelete: false });
  const subs: amqp.ChannelModel[] = [];
  const done: Array<Promise<void>> = [];
  const names: string[] = [];
  for (let i = 0; i < queues; i++) {
    const q = `${x}-${i}`;
    names.push(q);
    await pub.assertQueue(q, { durable: false });
    await pub.bindQueue(q, x, '');
    const c = await amqp.connect(url, SOCKET_OPTS);
    subs.push(c);
    const ch = await c.createChannel();
    await ch.prefetch(1000);
    done.push(consumeN(ch, q, n, true));
  }
  const t0 = performance.now();
  await Promise.all([publishInWorker(url, x, '', n), ...done]);
  const seconds = (performance.now() - t0) / 1000;
  for (const q of names) await pub.deleteQueue(q);
  await pub.deleteExchange(x);
  for (const c of subs) await c.close();
  await conn.close();
  return { scenario: `(e) fanout to ${queues} queues (deliveries)`, messages: n * queues, seconds, rate: (n * queues) / seconds };
}

export function formatTable(label: string, results: Result[]): string {
  const lines = [`${label}`, 'scenario'.padEnd(46) + 'msgs'.padStart(9) + 'secs'.padStart(8) + 'msg/s'.padStart(10) + 'p50 ms'.padStart(9) + 'p99 ms'.padStart(9)];
  for (const r of results) {
    lines.push(
      r.scenario.padEnd(46) +
        String(r.messages).padStart(9) +
        r.seconds.toFixed(2).padStart(8) +
        Math.round(r.rate).toString().padStart(10) +
        (r.p50 === undefined ? '' : r.p50.toFixed(2)).padStart(9) +
        (r.p99 === undefined ? '' : r.p99.toFixed(2)).padStart(9),
    );
  }
  const costed = results.filter((r) => r.broker);
  if (costed.length > 0) {
    lines.push('broker side'.padEnd(46) + 'µs/msg'.padStart(9) + 'B/msg'.padStart(8) + 'scav'.padStart(6) + 'm-s'.padStart(5) + 'max GC'.padStart(8) + 'heap MB'.padStart(9) + 'old MB'.padStart(8) + 'loop p99'.padStart(9) + 'max'.padStart(7));
    for (const r of costed) {
      const b = r.broker!;
      lines.push(
        r.scenario.padEnd(46) +
          b.cpuUsPerMsg.toFixed(2).padStart(9) +
          Math.round(b.heapBytesPerMsg).toString().padStart(8) +
          String(b.scavenges).padStart(6) +
          String(b.markSweeps).padStart(5) +
          b.maxGcMs.toFixed(2).padStart(8) +
          b.usedHeapMB.toFixed(1).padStart(9) +
          b.oldSpaceMB.toFixed(1).padStart(8) +
          b.loopP99.toFixed(2).padStart(9) +
          b.loopMax.toFixed(1).padStart(7),
      );
    }
  }
  return lines.join('\n');
}

export async function runAll(url: string, scale = 1, measure: Measure = (run) => run()): Promise<Result[]> {
  const s = (n: number) => Math.max(100, Math.round(n * scale));
  // BENCH_ONLY=a (or "a,d") runs a subset, e.g. to drive a profiled broker with one scenario.
  const only = process.env.BENCH_ONLY;
  if (only) {
    const pick: Record<string, () => Promise<Result>> = {
      a: () => transientPubSub(url, s(200_000)),
      b: () => persistentConfirms(url, s(50_000)),
      c: () => drainPrefilled(url, s(100_000)),
      d: () => latency(url, 5000, Math.max(1, Math.round(5 * scale))),
      e: () => fanout(url, s(50_000)),
    };
    const out: Result[] = [];
    for (const k of only.split(',')) out.push(await measure(pick[k.trim()]!));
    return out;
  }
  return [
    await measure(() => transientPubSub(url, s(200_000))),
    await measure(() => persistentConfirms(url, s(50_000))),
    await measure(() => drainPrefilled(url, s(100_000))),
    await measure(() => latency(url, 5000, Math.max(1, Math.round(5 * scale)))),
    await measure(() => fanout(url, s(50_000))),
  ];
}
