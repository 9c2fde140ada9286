import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker, type JobJson } from 'bullmq';
import { JobStore } from '../../src/queue/store.js';
import { QueueOps, type ClaimOptions } from '../../src/queue/queue-ops.js';
import { createRailyardBackend } from '../../src/jobs.js';
import { useQueueOps } from './fixtures/queue-ops.js';

// A Worker's immediate retry claims the worker's next job in the retry's own transaction
// (QueueOps.retry with prefetch), since BullMQ's Worker asks for it right after, one claim at a
// time. The job must look to everyone else exactly as if the worker had claimed it itself, and
// a prefetch nobody asks for must leave no trace.
describe('jobs prefetched by immediate retries', () => {
  let dataDir: string;
  let store: JobStore;
  let ops: QueueOps;
  const job = (name: string, opts: JobJson['opts'] = {}): JobJson =>
    ({ name, data: JSON.stringify({ name }), opts, timestamp: Date.now(), delay: 0, priority: 0 }) as unknown as JobJson;
  const claimOpts = (token: string, workerName: string | null = 'w'): ClaimOptions => ({ token, workerName, lockDuration: 30_000 });
  const P = 'railyard-prefetch:test';
  const events = (): string[][] =>
    (store.db.prepare("SELECT events FROM jobs_event WHERE queue = 'q' AND events != '' ORDER BY id").pluck().all() as string[]).flatMap(
      (e) => JSON.parse(e) as string[][],
    );

  useQueueOps('railyard-prefetch-', (f) => ({ dataDir, store, ops } = f));

  it('claims the next job under the prefetch token without an active event; the hand-out writes the token and the event', async () => {
    await ops.addJobs(['a', 'b'].map((id) => ({ job: job(id), jobId: id })));
    const [a] = await ops.claim(claimOpts('t1'));
    expect(a?.id).toBe('a');
    const next = await ops.retry('a', false, 't1', 'boom', '["stack"]', claimOpts(P));
    expect(next?.job.id).toBe('b');
    expect(ops.row('b')).toMatchObject({ state: 'active', lock_token: P, attempts_started: 1, processed_by: 'w' });
    expect(events().filter((e) => e[1] === 'active').map((e) => e[3])).toEqual(['a']);
    const [handed, id] = ops.handOut(next!, 't2');
    expect(id).toBe('b');
    await store.group.run('q', () => undefined);
    expect(ops.row('b')).toMatchObject({ state: 'active', lock_token: 't2' });
    expect(handed).toMatchObject({ id: 'b', attemptsStarted: 1, processedOn: ops.row('b')!.processed_on });
    expect(events().filter((e) => e[1] === 'active').map((e) => e[3])).toEqual(['a', 'b']);
    // The worker's token now holds the lock: the job completes with it.
    await ops.complete('b', '1', 't2', { keep: {}, attempts: 1, metricsMaxDataPoints: 0 });
    expect(ops.row('b')).toMatchObject({ state: 'completed', lock_token: null });
  });

  it('hands out a prefetch that guessed the worker’s token with nothing but the event to write', async () => {
    await ops.addJobs(['a', 'b'].map((id) => ({ job: job(id), jobId: id })));
    await ops.claim(claimOpts('w:1'));
    const next = await ops.retry('a', false, 'w:1', 'boom', '[]', claimOpts('w:2'));
    expect(ops.row('b')).toMatchObject({ state: 'active', lock_token: 'w:2' });
    ops.handOut(next!, 'w:2');
    await store.group.run('q', () => undefined);
    expect(ops.row('b')).toMatchObject({ state: 'active', lock_token: 'w:2', attempts_started: 1 });
    expect(events().filter((e) => e[1] === 'active').map((e) => e[3])).toEqual(['a', 'b']);
    await ops.complete('b', '1', 'w:2', { keep: {}, attempts: 1, metricsMaxDataPoints: 0 });
    expect(ops.row('b')).toMatchObject({ state: 'completed' });
  });

  it('puts a prefetch back where and as it was', async () => {
    await ops.addJobs(['a', 'b', 'c'].map((id) => ({ job: job(id), jobId: id })));
    await ops.claim(claimOpts('t1'));
    // b was tried and retried before: its previous attempt's fields must come back.
    await ops.claim(claimOpts('t0', 'old'));
    await ops.retry('b', true, 't0', 'first', '[]');
    const before = ops.row('b')!;
    const next = await ops.retry('a', false, 't1', 'boom', '[]', claimOpts(P));
    expect(next?.job.id).toBe('b');
    await ops.putBack([next!]);
    expect(ops.row('b')).toEqual(before);
    expect((await ops.claim(claimOpts('t3')))[1]).toBe('b');
  });

  it('keeps claim order when retries of one batch prefetch from rows read ahead', async () => {
    await ops.addJobs([
      { job: job('x1'), jobId: 'x1' },
      { job: job('x2'), jobId: 'x2' },
      { job: job('p', { priority: 2 }), jobId: 'p' },
      { job: job('r', { priority: 2 }), jobId: 'r' },
    ]);
    await ops.claim(claimOpts('t1'));
    await ops.claim(claimOpts('t2'));
    // The first prefetch reads x1 and p ahead; x2, retried next with priority 0, goes before p.
    const got = await Promise.all([ops.retry('x1', false, 't1', 'e', '[]', claimOpts(P)), ops.retry('x2', false, 't2', 'e', '[]', claimOpts(P))]);
    expect(got.map((g) => g?.job.id)).toEqual(['x1', 'x2']);
    // Plain retries keep the rows read ahead: the next claims get what is left, in order.
    await ops.addJobs([{ job: job('y'), jobId: 'y' }]);
    const [y] = await ops.claim(claimOpts('t3'));
    expect(y?.id).toBe('y');
    const more = await Promise.all([ops.retry('y', false, 't3', 'e', '[]', claimOpts(P)), ops.claim(claimOpts('t4')), ops.claim(claimOpts('t5'))]);
    expect([more[0]?.job.id, more[1][1], more[2][1]]).toEqual(['y', 'p', 'r']);
  });

  it('runs a worker whose jobs fail once: each attempt active once, with its own token, nothing left held', async () => {
    const connection = { dataDir };
    const q = new Queue('w', { connection }, createRailyardBackend);
    const qe = new QueueEvents('w', { connection }, createRailyardBackend);
    await qe.waitUntilReady();
    const seen: string[] = [];
    qe.on('active', ({ jobId }) => seen.push(jobId));
    await q.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'x', data: {}, opts: { jobId: `j${i}`, attempts: 2 } })));
    const tokens = new Map<string, Set<string>>();
    let done = 0;
    const w = new Worker(
      'w',
      async (j, token) => {
        const s = tokens.get(j.id!) ?? new Set<string>();
        s.add(token!);
        tokens.set(j.id!, s);
        if (j.attemptsMade === 0) throw new Error('first');
      },
      { connection, concurrency: 4 },
      createRailyardBackend,
    );
    w.on('completed', () => done++);
    while (done < 30) await new Promise((r) => setTimeout(r, 5));
    await w.close();
    const rows = store.db.prepare("SELECT id, state, attempts_started, attempts_made, lock_token FROM jobs_job WHERE queue = 'w'").all();
    expect(rows).toHaveLength(30);
    for (const r of rows) expect(r).toMatchObject({ state: 'completed', attempts_started: 2, attempts_made: 2, lock_token: null });
    for (const s of tokens.values()) for (const t of s) expect(t).not.toMatch(/prefetch/);
    while (seen.length < 60) await new Promise((r) => setTimeout(r, 5));
    expect([...seen].sort()).toEqual(Array.from({ length: 30 }, (_, i) => [`j${i}`, `j${i}`]).flat().sort());
    await qe.close();
    await q.close();
  });

  it('puts back what a paused or closed worker did not ask for', async () => {
    const connection = { dataDir };
    const q = new Queue('w', { connection }, createRailyardBackend);
    await q.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'x', data: {}, opts: { jobId: `j${i}`, attempts: 2 } })));
    let started = 0;
    const w = new Worker(
      'w',
      async () => {
        started++;
        // Paused from inside the attempt: the retry prefetches, the loop asks for nothing more.
        void w.pause();
        throw new Error('first');
      },
      { connection, concurrency: 1 },
      createRailyardBackend,
    );
    while (started < 1) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 100));
    const counts = await q.getJobCounts('active', 'waiting');
    expect(counts).toEqual({ active: 0, waiting: 6 });
    expect(store.db.prepare("SELECT count(*) FROM jobs_job WHERE queue = 'w' AND lock_token IS NOT NULL").pluck().get()).toBe(0);
    const untouched = store.db.prepare("SELECT attempts_started, processed_on FROM jobs_job WHERE queue = 'w' AND id != 'j0'").all();
    for (const r of untouched) expect(r).toEqual({ attempts_started: 0, processed_on: null });
    await w.close();
    await q.close();
  });
});
