// Runs a Railyard broker in its own process so the benchmark client does not share its event loop.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { startBroker } from '../../src/broker.js';

const b = await startBroker({ host: '127.0.0.1', logLevel: 'warn', fsync: (process.env.RAILYARD_FSYNC as 'always' | 'interval' | 'never' | undefined) ?? 'interval' });

// BENCH_HEAP_PROFILE=file.heapprofile samples where the broker allocates, garbage included (Node's
// --heap-prof keeps only what is still live at exit, which misses the young-generation churn).
const heapProfile = process.env.BENCH_HEAP_PROFILE;
let writeHeapProfile = async (): Promise<void> => undefined;
if (heapProfile) {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  writeHeapProfile = async () => {
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
    writeFileSync(heapProfile, JSON.stringify(profile));
  };
}

// With BENCH_LATENCY_TRACE=file (scenarios.ts), the broker's collections go to file.broker-gc as
// "start (epoch ms),duration (ms),kind", to line up with the latency samples.
const latencyTrace = process.env.BENCH_LATENCY_TRACE;
if (latencyTrace) {
  new PerformanceObserver((list) => {
    const rows = list.getEntries().map((e) => `${(performance.timeOrigin + e.startTime).toFixed(3)},${e.duration.toFixed(3)},${(e.detail as { kind?: number } | null)?.kind ?? ''}\n`);
    appendFileSync(`${latencyTrace}.broker-gc`, rows.join(''));
  }).observe({ entryTypes: ['gc'] });
}

// With --trace-gc, GC lines carry ms since the isolate started: this puts them on the epoch clock.
if (process.execArgv.includes('--trace-gc')) process.stderr.write(`time origin ${performance.timeOrigin}\n`);
process.stdout.write(`${b.amqp.url}\n`);
const stop = () =>
  void writeHeapProfile()
    .then(() => b.stop())
    .then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

/** What the bench reads between scenarios to put broker-side costs next to each result. */
export interface BrokerSample {
  /** CPU seconds (user + system) since start. */
  cpu: number;
  /** Heap bytes allocated since start (young-generation churn included, unlike heap size). */
  allocated: number;
  scavenges: number;
  markSweeps: number;
  /** Total GC time since start, and the longest single GC step since the previous sample, in ms. */
  gcMs: number;
  maxGcMs: number;
  usedHeap: number;
  oldSpace: number;
  /** The broker's event-loop delay since the previous sample (ms): p99 and max. */
  loopP99: number;
  loopMax: number;
}

// With an IPC channel (run.ts), answer 'sample' messages. V8 has no cumulative allocation counter,
// so allocation is summed from the GC profiler: what was used before each GC minus what was left
// after the previous one, plus what is used now beyond the last GC.
if (process.send) {
  const profiler = new v8.GCProfiler();
  profiler.start();
  const s: BrokerSample = { cpu: 0, allocated: 0, scavenges: 0, markSweeps: 0, gcMs: 0, maxGcMs: 0, usedHeap: 0, oldSpace: 0, loopP99: 0, loopMax: 0 };
  // Stalls of the broker's own loop (GC, synchronous work) delay every message in flight. Sampled
  // every 10 ms, as the broker's own metrics do (src/http/metrics.ts): a 1 ms timer woke the
  // measured broker up to 1000 extra times a second, a cost only the Railyard side paid.
  const resolution = 10;
  const loop = monitorEventLoopDelay({ resolution });
  loop.enable();
  let lastUsed = v8.getHeapStatistics().used_heap_size;
  process.on('message', (m) => {
    if (m !== 'sample') return;
    // With --trace-opt (BENCH_BROKER_FLAGS), a marker between scenarios and rounds, so the JIT's
    // compiles and deopts can be counted per round.
    if (process.execArgv.includes('--trace-opt')) process.stdout.write(`=== sample ${Date.now()}\n`);
    const stats = profiler.stop().statistics;
    profiler.start();
    s.maxGcMs = 0;
    for (const g of stats) {
      s.allocated += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - lastUsed);
      lastUsed = g.afterGC.heapStatistics.usedHeapSize;
      if (g.gcType === 'Scavenge') s.scavenges++;
      else if (g.gcType === 'MarkSweepCompact') s.markSweeps++;
      const ms = g.cost / 1000;
      s.gcMs += ms;
      if (ms > s.maxGcMs) s.maxGcMs = ms;
    }
    const h = v8.getHeapStatistics();
    s.allocated += Math.max(0, h.used_heap_size - lastUsed);
    lastUsed = h.used_heap_size;
    s.usedHeap = h.used_heap_size;
    s.oldSpace = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')?.space_used_size ?? 0;
    // The histogram holds whole intervals between the timer's runs; the delay is what exceeds the period.
    s.loopP99 = Math.max(0, loop.percentile(99) / 1e6 - resolution);
    s.loopMax = Math.max(0, loop.max / 1e6 - resolution);
    loop.reset();
    const c = process.cpuUsage();
    s.cpu = (c.user + c.system) / 1e6;
    process.send!({ ...s });
  });
}
