// Usage: npx tsx bench/amqp/run.ts [AMQP_URL]   (BENCH_SCALE=0.1 for a quick run)
// Without a URL it starts Railyard in a child process on a temporary data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatTable, runAll, type Measure } from './scenarios.js';
import type { BrokerSample } from './broker-child.js';

/** Asks the broker child for its CPU, allocation and GC counters (see broker-child.ts). */
function sample(proc: ChildProcess): Promise<BrokerSample> {
  return new Promise((resolve) => {
    proc.once('message', (m) => resolve(m as BrokerSample));
    proc.send('sample');
  });
}

/** Puts the broker's CPU and heap allocated per message, GC counts and heap size next to each result. */
export function brokerCosts(proc: ChildProcess): Measure {
  return async (run) => {
    const a = await sample(proc);
    const r = await run();
    const b = await sample(proc);
    const mb = (n: number) => n / (1024 * 1024);
    const moved = r.costMessages ?? r.messages;
    r.broker = {
      cpuUsPerMsg: ((b.cpu - a.cpu) / moved) * 1e6,
      heapBytesPerMsg: (b.allocated - a.allocated) / moved,
      scavenges: b.scavenges - a.scavenges,
      markSweeps: b.markSweeps - a.markSweeps,
      maxGcMs: b.maxGcMs,
      usedHeapMB: mb(b.usedHeap),
      oldSpaceMB: mb(b.oldSpace),
      loopP99: b.loopP99,
      loopMax: b.loopMax,
    };
    return r;
  };
}

export async function startRailyard(): Promise<{ url: string; proc: ChildProcess }> {
  const child = fileURLToPath(new URL('./broker-child.ts', import.meta.url));
  // The same young-generation bounds the `railyard` command runs with (src/cli.ts).
  // BENCH_BROKER_FLAGS adds Node flags to the broker child, e.g. "--cpu-prof --trace-gc".
  const extra = (process.env.BENCH_BROKER_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const proc = spawn(process.execPath, ['--max-semi-space-size=8', '--min-semi-space-size=4', ...extra, '--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('amqp://'));
      if (!line) return;
      // Whatever the broker prints later (--trace-gc, say) goes to our stderr, away from the table.
      proc.stdout!.off('data', onData);
      proc.stdout!.pipe(process.stderr);
      resolve(line.trim());
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  return { url, proc };
}

async function main(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  let url = process.argv[2] ?? process.env.RAILYARD_AMQP_URL;
  let proc: ChildProcess | undefined;
  if (!url) ({ url, proc } = await startRailyard());
  // Broker CPU seconds (user+system) over the run: on a shared, loaded machine wall-clock rates
  // swing by 2x between runs, while the broker's own CPU per message stays comparable.
  const cpu = (): number => {
    if (!proc?.pid) return NaN;
    const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  try {
    const cpu0 = cpu();
    const client0 = process.cpuUsage();
    const results = await runAll(url, scale, proc ? brokerCosts(proc) : undefined);
    const used = cpu() - cpu0;
    const c = process.cpuUsage(client0);
    const clientUsed = (c.user + c.system) / 1e6;
    console.log(formatTable(`AMQP bench against ${url} (scale ${scale})`, results));
    for (const r of results) if (r.clientLagP99 !== undefined) console.log(`${r.scenario}: client timer lag p99 ${r.clientLagP99.toFixed(1)} ms`);
    if (proc?.pid) {
      const msgs = results.reduce((a, r) => a + r.messages, 0);
      console.log(`broker CPU over the run: ${used.toFixed(2)} s, ${((used / msgs) * 1e6).toFixed(1)} µs per message; client (this process and its workers) ${clientUsed.toFixed(2)} s`);
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1];
      if (rss) console.log(`broker RSS after the run: ${Math.round(Number(rss) / 1024)} MB`);
    }
  } finally {
    proc?.kill('SIGTERM');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
