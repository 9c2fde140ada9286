import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import { JobStore } from '../../src/queue/store.js';
import { JOBS_MIGRATIONS } from '../../src/queue/schema.js';
import { migrate, openDatabase } from '../../src/store/sqlite.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

describe('jobs schema', () => {
  const fresh = useTempDirs('railyard-schema-');

  it('keeps the waiting and active scans indexed on the merged index (V8)', async () => {
    const store = JobStore.acquire(fresh());
    try {
      const plan = (sql: string): string =>
        (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('q') as { detail: string }[]).map((r) => r.detail).join('; ');
      // claim order, as the claim's pick reads it: no sort step
      expect(plan("SELECT rid FROM jobs_job WHERE queue = ? AND state = 'waiting' ORDER BY priority, seq LIMIT 10")).toBe(
        'SEARCH jobs_job USING COVERING INDEX jobs_job_ready (queue=? AND state=?)',
      );
      expect(plan("SELECT count(*) FROM jobs_job WHERE queue = ? AND state = 'active'")).toBe(
        'SEARCH jobs_job USING COVERING INDEX jobs_job_ready (queue=? AND state=?)',
      );
      // lease expiry walks the queue's active entries only
      expect(plan("SELECT rid, id FROM jobs_job WHERE queue = ? AND state = 'active' AND locked_until < 5")).toBe(
        'SEARCH jobs_job USING INDEX jobs_job_ready (queue=? AND state=?)',
      );
    } finally {
      await store.release();
    }
  });

  it('migrates a V7 store: its waiting jobs keep their order and are claimed', async () => {
    const dataDir = fresh();
    const db = openDatabase(dataDir);
    migrate(db, 'jobs', JOBS_MIGRATIONS.slice(0, 7));
    const ins = db.prepare(
      "INSERT INTO jobs_job (queue, id, name, state, seq, priority, data, opts, timestamp) VALUES ('m', ?, 'x', 'waiting', ?, ?, '{}', '{}', 1)",
    );
    ins.run('a', 2, 0);
    ins.run('b', 1, 0);
    ins.run('c', 0, 3);
    db.close();

    const connection = { dataDir };
    const seen: string[] = [];
    const w = new Worker('m', async (job) => void seen.push(job.id ?? ''), { connection, autorun: false }, createRailyardBackend);
    const q = new Queue('m', { connection }, createRailyardBackend);
    try {
      const done = new Promise<void>((resolve) => w.on('completed', () => seen.length === 3 && resolve()));
      void w.run();
      await done;
      // plain jobs before prioritized ones, each in seq order
      expect(seen).toEqual(['b', 'a', 'c']);
      const idx = JobStore.acquire(dataDir);
      try {
        const names = (idx.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs_job' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
        expect(names).toContain('jobs_job_ready');
        expect(names).not.toContain('jobs_job_waiting');
        expect(names).not.toContain('jobs_job_active');
      } finally {
        await idx.release();
      }
    } finally {
      await w.close();
      await q.close();
    }
  });
  it('migrates a V9 store: stack traces move beside their rows (V10), are read back, go when their job goes or is reprocessed', async () => {
    const dataDir = fresh();
    const db = openDatabase(dataDir);
    migrate(db, 'jobs', JOBS_MIGRATIONS.slice(0, 9));
    const ins = db.prepare(
      `INSERT INTO jobs_job (queue, id, name, state, seq, priority, data, opts, timestamp, attempts_made, finished_on, failed_reason, stacktrace)
       VALUES ('m', ?, 'x', 'failed', 1, 0, '{}', '{}', 1, 1, 2, 'boom', ?)`,
    );
    ins.run('a', JSON.stringify(['at a']));
    ins.run('b', JSON.stringify(['at b']));
    db.close();

    const q = new Queue('m', { connection: { dataDir } }, createRailyardBackend);
    const store = JobStore.acquire(dataDir);
    try {
      expect((await q.getJob('a'))!.stacktrace).toEqual(['at a']);
      const count = (): number => (store.db.prepare('SELECT count(*) AS n FROM jobs_stack').get() as { n: number }).n;
      expect(count()).toBe(2);
      expect(store.db.prepare('SELECT count(*) AS n FROM jobs_job WHERE stacktrace IS NOT NULL').get()).toEqual({ n: 0 });
      await q.remove('a');
      expect(count()).toBe(1);
      await (await q.getJob('b'))!.retry('failed');
      expect(count()).toBe(0);
      expect((await q.getJob('b'))!.stacktrace).toEqual([]);
    } finally {
      await store.release();
      await q.close();
    }
  });
});
