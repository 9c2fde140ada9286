import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import { JobStore } from '../../src/queue/store.js';
import Database from 'better-sqlite3';
import { InvalidArgumentError } from '../../src/errors.js';
import { APPLICATION_ID } from '../../src/store/sqlite.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

describe('RAILYARD_JOBS_SYNC', () => {
  const saved = process.env['RAILYARD_JOBS_SYNC'];
  afterEach(() => {
    if (saved === undefined) delete process.env['RAILYARD_JOBS_SYNC'];
    else process.env['RAILYARD_JOBS_SYNC'] = saved;
  });
  const fresh = useTempDirs('railyard-sync-');

  async function roundTrip(dataDir: string): Promise<void> {
    const connection = { dataDir };
    const q = new Queue('s', { connection }, createRailyardBackend);
    const w = new Worker('s', async (job) => (job.data as { n: number }).n * 2, { connection }, createRailyardBackend);
    const done = new Promise<unknown>((resolve) => w.on('completed', (_job, result) => resolve(result)));
    await q.add('x', { n: 21 });
    expect(await done).toBe(42);
    await w.close();
    await q.close();
  }

  it('off: synchronous = OFF, checkpoints on the store connection at a small WAL', async () => {
    process.env['RAILYARD_JOBS_SYNC'] = 'off';
    const dir = fresh();
    const store = JobStore.acquire(dir);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(0);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(200);
    await store.release();
    await roundTrip(dir);
  });

  it('normal by default: synchronous = NORMAL with the checkpointer thread, and jobs still run', async () => {
    delete process.env['RAILYARD_JOBS_SYNC'];
    const dir = fresh();
    const store = JobStore.acquire(dir);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    // A new store has 2 KB pages; the store's own checkpoints start at a 64 MB WAL.
    expect(store.db.pragma('page_size', { simple: true })).toBe(2048);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(32768);
    await store.release();
    await roundTrip(dir);
  });

  it('keeps the page size of a file made before 2 KB pages, and the same WAL bound in bytes', async () => {
    delete process.env['RAILYARD_JOBS_SYNC'];
    const dir = fresh();
    const old = new Database(join(dir, 'railyard.db'));
    old.pragma('page_size = 4096');
    old.exec('CREATE TABLE before_v (x)');
    old.close();
    // The file is foreign until it carries our application id: made here as an older Railyard would.
    const mark = new Database(join(dir, 'railyard.db'));
    mark.pragma(`application_id = ${APPLICATION_ID}`);
    mark.close();
    const store = JobStore.acquire(dir);
    expect(store.db.pragma('page_size', { simple: true })).toBe(4096);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(16384);
    await store.release();
    await roundTrip(dir);
  });

  it('refuses any other value', () => {
    process.env['RAILYARD_JOBS_SYNC'] = 'full';
    expect(() => JobStore.acquire(fresh())).toThrow(InvalidArgumentError);
  });
});
