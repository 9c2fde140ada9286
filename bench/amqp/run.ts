// Usage: npx tsx bench/amqp/run.ts [AMQP_URL]   (BENCH_SCALE=0.1 for a quick run)
// Without a URL it starts Railyard in a child process on a temporary data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatTable, runAll } from './scenarios.js';

export async function startRailyard(): Promise<{ url: string; proc: ChildProcess }> {
  const child = fileURLToPath(new URL('./broker-child.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('amqp://'));
      if (line) resolve(line.trim());
    });
    proc.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  return { url, proc };
}

async function main(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  let url = process.argv[2] ?? process.env.RAILYARD_AMQP_URL;
  let proc: ChildProcess | undefined;
  if (!url) ({ url, proc } = await startRailyard());
  try {
    const results = await runAll(url, scale);
    console.log(formatTable(`AMQP bench against ${url} (scale ${scale})`, results));
    if (proc?.pid) {
      const { readFileSync } = await import('node:fs');
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
