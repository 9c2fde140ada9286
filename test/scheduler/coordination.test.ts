import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import cron, { SqliteRunCoordinator } from '../../src/cron.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ry-cron-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SqliteRunCoordinator', () => {
  it('elects exactly one claimant per key across connections', () => {
    const dir = tempDir();
    const a = new SqliteRunCoordinator({ dataDir: dir, owner: 'a' });
    const b = new SqliteRunCoordinator({ dataDir: dir, owner: 'b' });
    expect(a.shouldRun('job:2026-01-01T00:00:00.000Z', 30_000)).toBe(true);
    expect(b.shouldRun('job:2026-01-01T00:00:00.000Z', 30_000)).toBe(false);
    expect(a.shouldRun('job:2026-01-01T00:00:00.000Z', 30_000)).toBe(false);
    expect(b.shouldRun('job:2026-01-01T00:00:01.000Z', 30_000)).toBe(true);
    a.onComplete('job:2026-01-01T00:00:00.000Z');
    expect(b.claimOf('job:2026-01-01T00:00:00.000Z')).toMatchObject({ owner: 'a' });
    expect(b.claimOf('job:2026-01-01T00:00:00.000Z')!.completedAt).not.toBeNull();
    a.close();
    b.close();
  });

  it('runs each slot of a distributed task once across three processes', async () => {
    const dir = tempDir();
    const worker = fileURLToPath(new URL('./fixtures/distributed-worker.ts', import.meta.url));
    new SqliteRunCoordinator({ dataDir: dir }).close(); // create the schema before the race
    const outputs = await Promise.all([0, 1, 2].map(() => new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, dir, '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('error', reject);
      child.on('exit', () => resolve(out.split('\n').filter(Boolean)));
    })));
    const all = outputs.flat();
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(new Set(all).size).toBe(all.length);
  }, 30_000);
});

describe('background tasks (a module path runs in a child process)', () => {
  afterEach(async () => {
    await cron.shutdown(1_000);
  });

  it('runs the module on schedule in another process and on execute()', async () => {
    const path = fileURLToPath(new URL('./fixtures/background-task.mjs', import.meta.url));
    const task = cron.createTask('* * * * * *', path);
    await task.start();
    expect(task.getStatus()).toBe('idle');
    const scheduled = await new Promise<{ pid: number; reason: string }>((resolve) => {
      task.once('execution:finished', (ctx) => resolve(ctx.execution!.result as { pid: number; reason: string }));
    });
    expect(scheduled.pid).not.toBe(process.pid);
    expect(scheduled.reason).toBe('scheduled');
    await expect(task.execute()).resolves.toMatchObject({ reason: 'invoked', pid: scheduled.pid });
    expect(task.lastRun()).not.toBeNull();
    await task.destroy();
    expect(task.getStatus()).toBe('destroyed');
  }, 20_000);

  it('resolves a relative task path against the calling module, like node-cron', async () => {
    const task = cron.createTask('0 0 1 1 *', './fixtures/background-task.mjs');
    await task.start();
    await expect(task.execute()).resolves.toMatchObject({ reason: 'invoked' });
    await task.destroy();
  }, 20_000);

  it('reports a crashed child as task:failed and rejects the pending execute()', async () => {
    const task = cron.createTask('0 0 1 1 *', './fixtures/crashing-task.mjs');
    await task.start();
    const failed = new Promise<Error | undefined>((resolve) => task.once('task:failed', (ctx) => resolve(ctx.error)));
    await expect(task.execute()).rejects.toThrow(/exited unexpectedly/);
    expect((await failed)?.message).toMatch(/code 3/);
    expect(task.getStatus()).toBe('stopped');
  }, 20_000);

  it('rejects start() when the module has no task export', async () => {
    const path = fileURLToPath(new URL('./fixtures/distributed-worker.ts', import.meta.url).href.replace('distributed-worker.ts', 'missing.mjs'));
    const task = cron.createTask('* * * * * *', path);
    await expect(task.start()).rejects.toThrow();
  }, 20_000);
});

describe('unref', () => {
  const run = (mode: string): Promise<number | null> => new Promise((resolve) => {
    const script = fileURLToPath(new URL('./fixtures/unref-task.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, mode], { stdio: 'ignore' });
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 4_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });

  it('lets the process exit with unref: true or task.unref(), and keeps it alive otherwise', async () => {
    const [option, method, refed] = await Promise.all([run('option'), run('method'), run('ref')]);
    expect(option).toBe(0);
    expect(method).toBe(0);
    expect(refed).toBeNull();
  }, 20_000);
});
