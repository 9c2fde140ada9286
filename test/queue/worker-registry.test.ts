import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import type { RailyardQueue } from '../helpers/railyard-bullmq.js';
import { until } from './targets.js';

const CHILD = fileURLToPath(new URL('./fixtures/registry-child.ts', import.meta.url));

function start(dataDir: string, workerName: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, 'reg', workerName], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(p);
    });
    p.on('exit', (code) => reject(new Error(`child exited with ${code} before ready`)));
  });
}

function exited(p: ChildProcess): Promise<void> {
  return new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
}

describe('getWorkers / getQueueEvents across processes', () => {
  let dataDir: string;
  let q: RailyardQueue;
  const procs: ChildProcess[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-reg-'));
    q = new Queue('reg', { connection: { dataDir } }, createRailyardBackend);
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await exited(p);
    }
    await q.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("lists another process's worker and listener, and drops them within the lease after SIGKILL", async () => {
    const heartbeat = 200;
    const p = await start(dataDir, 'far', { RAILYARD_JOBS_HEARTBEAT_MS: String(heartbeat) });
    procs.push(p);
    const workers = await q.getWorkers();
    expect(workers).toHaveLength(1);
    const w = workers[0]!;
    expect(w['name']).toBe('reg');
    expect(w['rawname']).toMatch(/:w:far$/);
    expect(w['addr']).toMatch(new RegExp(`:${p.pid}$`));
    expect(Number(w['id'])).toBeGreaterThan(0);
    expect(Number(w['started'])).toBeLessThanOrEqual(Date.now());
    await until(async () => (await q.getQueueEvents()).length === 1);
    // Heartbeats keep it listed well past one lease.
    await new Promise((r) => setTimeout(r, heartbeat * 5));
    expect(await q.getWorkersCount()).toBe(1);
    const killed = Date.now();
    p.kill('SIGKILL');
    await exited(p);
    await until(async () => (await q.getWorkersCount()) === 0, 5000);
    // Three missed heartbeats, plus the gap since the last one.
    expect(Date.now() - killed).toBeLessThanOrEqual(heartbeat * 3 + 1000);
    expect(await q.getQueueEvents()).toHaveLength(0);
  });

  it('unlists at once a process that exits without closing its workers', async () => {
    const p = await start(dataDir, 'polite');
    procs.push(p);
    expect(await q.getWorkersCount()).toBe(1);
    p.kill('SIGTERM');
    await exited(p);
    expect(await q.getWorkersCount()).toBe(0);
    expect(await q.getQueueEvents()).toHaveLength(0);
  });
});
