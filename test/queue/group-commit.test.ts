import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import { JobStore } from '../../src/queue/store.js';
import { QueueOps } from '../../src/queue/queue-ops.js';

// Operations issued together share one transaction (src/queue/group-commit.ts), first without
// savepoints; these pin what that must keep: one operation's failure is its own.
describe('group commit', () => {
  let dataDir: string;
  let store: JobStore;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-group-'));
    store = JobStore.acquire(dataDir);
  });
  afterEach(async () => {
    await store.release();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('undoes only the operation that threw: the others of its batch commit, with their events', async () => {
    store.db.exec('CREATE TABLE scratch (k TEXT NOT NULL)');
    const put = (k: string) => store.db.prepare('INSERT INTO scratch (k) VALUES (?)').run(k);
    const boom = new Error('boom');
    const results = await Promise.allSettled([
      store.group.run('g', (ev) => {
        put('a');
        ev.push('marked', { k: 'a' });
        return 'a';
      }),
      store.group.run('g', (ev) => {
        put('b');
        ev.push('marked', { k: 'b' });
        throw boom;
      }),
      store.group.run('g', (ev) => {
        put('c');
        ev.push('marked', { k: 'c' });
        return 'c';
      }),
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 'c' },
    ]);
    expect(store.db.prepare('SELECT k FROM scratch ORDER BY k').pluck().all()).toEqual(['a', 'c']);
    const events = store.db.prepare("SELECT events FROM jobs_event WHERE queue = 'g' AND events != ''").pluck().all() as string[];
    expect(events.flatMap((e) => JSON.parse(e) as string[][]).map((e) => e[3])).toEqual(['a', 'c']);
  });

  it('does not let a batch run again after a failure see queue flags from writes that were undone', async () => {
    const ops = new QueueOps(store, 'q', 10_000);
    await ops.addJobs([{ job: { name: 'x', data: '{}', opts: {}, timestamp: Date.now() } as never, jobId: '' }]);
    const claim = { token: 't', workerName: null, lockDuration: 30_000 };
    // In order: a claim (queue not paused yet), a pause, a claim on the paused queue, a failure.
    // The failure sends the batch round again; the first claim must still find the queue running.
    const [first, , second, failed] = await Promise.allSettled([
      ops.claim(claim),
      ops.pause(true),
      ops.claim(claim),
      ops.write(() => {
        throw new Error('boom');
      }),
    ]);
    expect(first.status === 'fulfilled' && first.value[1]).toBe('1');
    expect(second.status === 'fulfilled' && second.value[0]).toBeNull();
    expect(failed.status).toBe('rejected');
  });

  it('claims a delayed job made due by an earlier operation of the same batch', async () => {
    const ops = new QueueOps(store, 'd', 10_000);
    await ops.addJobs([{ job: { name: 'x', data: '{}', opts: { delay: 60_000 }, timestamp: Date.now() } as never, jobId: 'later' }]);
    const claim = { token: 't', workerName: null, lockDuration: 30_000 };
    // The first claim finds nothing due; the second, after the delay was cut to 0, must look again.
    const [first, changed, second] = await Promise.all([ops.claim(claim), ops.changeDelay('later', 0), ops.claim(claim)]);
    expect(first[0]).toBeNull();
    expect(changed).toBe(0);
    expect(second[1]).toBe('later');
  });

  it('lets timers run while a worker is handed job after job in promise reactions', async () => {
    const connection = { dataDir };
    const q = new Queue('chain', { connection }, createRailyardBackend);
    const count = 3000;
    for (let i = 0; i < count; i += 1000) {
      await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {} })));
    }
    let done = 0;
    let doneWhenTimerFired = -1;
    const w = new Worker('chain', async () => undefined, { connection, concurrency: 1 }, createRailyardBackend);
    w.on('completed', () => {
      done++;
      if (done === 1) setTimeout(() => (doneWhenTimerFired = done), 0);
    });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (done < count) return;
        clearInterval(check);
        resolve();
      }, 5);
    });
    await w.close();
    await q.close();
    // The timer fires within a few jobs, not when the queue has run dry.
    expect(doneWhenTimerFired).toBeGreaterThan(0);
    expect(doneWhenTimerFired).toBeLessThan(count / 2);
  });
});
