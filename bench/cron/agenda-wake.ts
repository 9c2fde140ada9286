/** Cross-process wake-up: a job saved in this process until an idle Agenda in another process runs it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agenda } from 'agenda';
import { RailyardAgendaBackend } from '../../src/agenda.js';
import { sibling } from './compiled.js';

export async function benchAgendaWake(jobs: number): Promise<{ samples: number; p50: number; p99: number; max: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ry-agenda-bench-'));
  const script = sibling('agenda-worker');
  const worker = spawn(process.execPath, [...script.execArgv, script.path, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ran = new Map<string, number>();
  let buf = '';
  let onLine: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    worker.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'ready') resolve();
        else {
          const [id, at] = line.split(' ');
          ran.set(id!, Number(at));
          onLine?.();
        }
      }
    });
  });
  await ready;
  const producer = new Agenda({ backend: new RailyardAgendaBackend({ dataDir }) });
  await producer.start();
  const latencies: number[] = [];
  for (let i = 0; i < jobs; i++) {
    const savedAt = Date.now();
    const job = await producer.now('wake', { i });
    const id = String(job.attrs._id);
    await new Promise<void>((resolve) => {
      onLine = () => { if (ran.has(id)) resolve(); };
      onLine();
    });
    latencies.push(ran.get(id)! - savedAt);
  }
  await producer.stop();
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { samples: latencies.length, p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1]! };
}
