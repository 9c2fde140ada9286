import { describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue, Worker, type JobJson } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import { JobStore } from '../../src/queue/store.js';
import { QueueOps, type FinishOptions } from '../../src/queue/queue-ops.js';
import { useQueueOps } from './fixtures/queue-ops.js';

// Stack traces that repeat are kept once (schema V11, TraceTexts); a text seen once stays beside
// its job's row. Whatever jobs do, each job must read back its own, and a shared text must live
// exactly as long as a job names it.
describe('stack traces kept once when they repeat', () => {
  let dataDir: string;
  let store: JobStore;
  let ops: QueueOps;
  const claim = (token: string) => ({ token, workerName: null, lockDuration: 30_000 });
  const finish: FinishOptions = { keep: {}, attempts: 1, metricsMaxDataPoints: 0 };
  const job = (name: string): JobJson =>
    ({ name, data: '{}', opts: { attempts: 5 }, timestamp: Date.now(), delay: 0, priority: 0 }) as unknown as JobJson;

  useQueueOps('railyard-traces-', (f) => ({ dataDir, store, ops } = f));

  /** Every shared text with how many jobs name it, and the count it keeps: they must agree. */
  const texts = (): { text: string; refs: number; named: number }[] =>
    store.db
      .prepare('SELECT text, refs, (SELECT count(*) FROM jobs_job WHERE trace = jobs_trace.id) AS named FROM jobs_trace ORDER BY id')
      .all() as { text: string; refs: number; named: number }[];
  const shared = (): [string, number][] => texts().map((t) => [t.text, t.refs]);
  /** Ids of the jobs whose stack traces are their own, beside their row. */
  const own = (): string[] =>
    store.db.prepare('SELECT id FROM jobs_job WHERE rid IN (SELECT rid FROM jobs_stack) ORDER BY id').pluck().all() as string[];
  const expectCounted = (): void => {
    for (const t of texts()) expect(t.refs, t.text).toBe(t.named);
  };
  const stackOf = (id: string): unknown => {
    const row = ops.row(id);
    return row?.stack === null || row === undefined ? null : JSON.parse(row.stack);
  };
  const add = async (...names: string[]): Promise<void> => {
    await ops.addJobs(names.map((n) => ({ job: job(n), jobId: n })));
  };
  /** Claims the next job under `token` and returns its id. */
  const next = async (token: string): Promise<string> => {
    const [claimed, id] = await ops.claim(claim(token));
    expect(claimed).not.toBeNull();
    return id;
  };

  it('keeps a text seen once beside its job, shares it from its second time, and drops it with the last job naming it', async () => {
    await add('a', 'b', 'c');
    const same = JSON.stringify(['Error: down\n    at call (svc.js:1:1)']);
    for (const t of ['t1', 't2', 't3']) await ops.retry(await next(t), false, t, 'down', same);
    expect(own()).toEqual(['a']);
    expect(texts()).toEqual([{ text: same, refs: 2, named: 2 }]);
    for (const id of ['a', 'b', 'c']) expect(stackOf(id)).toEqual(['Error: down\n    at call (svc.js:1:1)']);

    // Claims hand the text out with the job, from either place.
    const handed: Record<string, unknown> = {};
    for (const t of ['t4', 't5']) {
      const [claimed, id] = await ops.claim(claim(t));
      handed[id] = claimed!.stacktrace;
    }
    expect(handed).toEqual({ a: same, b: same });
    // Failing the same way again: `a` now shares the text (its own copy goes); `b` keeps its count.
    await ops.retry('a', false, 't4', 'down', same);
    await ops.retry('b', false, 't5', 'down', same);
    expect(own()).toEqual([]);
    expect(texts()).toEqual([{ text: same, refs: 3, named: 3 }]);

    expect(await ops.remove('b')).toBe(1);
    expect(texts()).toEqual([{ text: same, refs: 2, named: 2 }]);
    expect(await ops.remove('a')).toBe(1);
    expect(await ops.remove('c')).toBe(1);
    expect(texts()).toEqual([]);
  });

  it('gives back the old text when a job fails again another way, on every path that records a failure', async () => {
    await add('a', 'b');
    const first = JSON.stringify(['Error: one']);
    const second = JSON.stringify(['Error: one', 'Error: two']);
    const third = JSON.stringify(['Error: one', 'Error: two', 'Error: three']);
    const fourth = JSON.stringify(['Error: four']);
    await ops.retry(await next('t1'), false, 't1', 'one', first);
    await ops.retry(await next('t2'), false, 't2', 'one', first);
    expect(own()).toEqual(['a']);
    expect(shared()).toEqual([[first, 1]]);

    // a: retried at once with a text seen for the first time: its own copy changes.
    expect(await next('t3')).toBe('a');
    await ops.retry('a', false, 't3', 'two', second);
    expect(stackOf('a')).toEqual(['Error: one', 'Error: two']);
    // b: moved to delayed (a backoff) with it, now seen before: shared, and `first` goes.
    expect(await next('t4')).toBe('b');
    await ops.moveToDelayed('b', Date.now() + 60_000, 60_000, 't4', false, 'two', second);
    expectCounted();
    expect(shared()).toEqual([[second, 1]]);
    // a: failed for good, with the shared text: its own copy goes.
    expect(await next('t5')).toBe('a');
    await ops.fail('a', 'two', second, 't5', finish);
    expect(own()).toEqual([]);
    expect(shared()).toEqual([[second, 2]]);
    expect(stackOf('a')).toEqual(['Error: one', 'Error: two']);

    // Reprocessed, it has none; failing the same way twice more keeps one reference.
    await ops.reprocess('a', 'failed', false, false, false);
    expect(stackOf('a')).toBeNull();
    expect(shared()).toEqual([[second, 1]]);
    expect(await next('t6')).toBe('a');
    await ops.retry('a', false, 't6', 'two', second);
    expect(await next('t7')).toBe('a');
    await ops.retry('a', false, 't7', 'two', second);
    expectCounted();
    expect(shared()).toEqual([[second, 2]]);

    // A failure without a stack trace keeps the one the job had.
    expect(await next('t8')).toBe('a');
    await ops.retry('a', false, 't8', 'no stack', null);
    expect(stackOf('a')).toEqual(['Error: one', 'Error: two']);
    // A text of its own wins over the shared one it still names.
    expect(await next('t9')).toBe('a');
    await ops.retry('a', false, 't9', 'four', fourth);
    expect(stackOf('a')).toEqual(['Error: four']);
    expectCounted();

    // Failed for good with a text of its own (while still naming the shared one), then retried
    // with the finished jobs in bulk: both go.
    expect(await next('t10')).toBe('a');
    await ops.fail('a', 'three', third, 't10', finish);
    expect(stackOf('a')).toEqual(['Error: one', 'Error: two', 'Error: three']);
    expect(own()).toEqual(['a']);
    expect(shared()).toEqual([[second, 2]]);
    await ops.retryFinished('failed', 10, Date.now());
    expect(ops.row('a')!.state).toBe('waiting');
    expect(stackOf('a')).toBeNull();
    expect(own()).toEqual([]);
    expect(shared()).toEqual([[second, 1]]);

    // Jobs deleted in bulk give theirs back too.
    await ops.pause(true);
    expect(await ops.obliterate(true, 1000)).toBe(0);
    expect(texts()).toEqual([]);
  });

  it('adds a text again when another process dropped it while this one still knew its id', async () => {
    await add('a', 'b', 'c');
    const same = JSON.stringify(['Error: same']);
    await ops.retry(await next('t1'), false, 't1', 'same', same);
    await ops.retry(await next('t2'), false, 't2', 'same', same);
    expect(shared()).toEqual([[same, 1]]);
    // Another connection (another process) removes the only job naming it: the text goes.
    const other = new Database(join(dataDir, 'railyard.db'));
    other.pragma('busy_timeout = 5000');
    other.prepare("DELETE FROM jobs_job WHERE id = 'b'").run();
    other.close();
    expect(texts()).toEqual([]);

    await ops.retry(await next('t3'), false, 't3', 'same', same);
    expect(texts()).toEqual([{ text: same, refs: 1, named: 1 }]);
    expect(stackOf('c')).toEqual(['Error: same']);
    const handed: Record<string, unknown> = {};
    for (const t of ['t4', 't5']) {
      const [claimed, id] = await ops.claim(claim(t));
      handed[id] = claimed!.stacktrace;
    }
    expect(handed).toEqual({ a: same, c: same });
  });

  it('keeps ids and texts straight when a batch that added a text is rolled back', async () => {
    await add('a', 'b', 'c', 'd');
    const one = JSON.stringify(['Error: one']);
    const two = JSON.stringify(['Error: two']);
    await ops.retry(await next('t0'), false, 't0', 'one', one);
    const [, b] = await ops.claim(claim('t1'));
    const [, c] = await ops.claim(claim('t2'));
    // One group commit: the first retry shares `one` (a new row), the second fails (no such
    // job), so the batch is rolled back and run again operation by operation.
    const forget = vi.spyOn(store.traces, 'forget');
    const results = await Promise.allSettled([ops.retry(b, false, 't1', 'one', one), ops.retry('missing', false, 't9', 'x', two)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(forget).toHaveBeenCalled();
    await ops.retry(c, false, 't2', 'two', two);
    await ops.retry(await next('t3'), false, 't3', 'two', two);
    expectCounted();
    expect(stackOf('a')).toEqual(['Error: one']);
    expect(stackOf('b')).toEqual(['Error: one']);
    expect(stackOf('c')).toEqual(['Error: two']);
    expect(stackOf('d')).toEqual(['Error: two']);
    const handed: Record<string, unknown> = {};
    for (const t of ['t4', 't5', 't6', 't7']) {
      const [claimed, id] = await ops.claim(claim(t));
      handed[id] = claimed!.stacktrace;
    }
    expect(handed).toEqual({ a: one, b: one, c: two, d: two });
  });

  it('hands out the right texts once it has forgotten some (its memory is bounded)', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    await add(...ids);
    const big = (c: string): string => JSON.stringify([`Error: ${c}\n${'    at x (y.js:1:1)\n'.repeat(30_000)}`]);
    const bigs = ['A', 'A', 'B', 'B', 'C', 'C'].map(big);
    for (const [i, id] of ids.entries()) await ops.retry(await next(`t${i}`), false, `t${i}`, 'big', bigs[i]!);
    expect(texts()).toHaveLength(3);
    const handed: string[] = [];
    for (const i of ids.keys()) handed.push((await ops.claim(claim(`u${i}`)))[0]!.stacktrace as unknown as string);
    expect(handed).toEqual(bigs);
    expectCounted();
  });

  it('stores the stack traces of a stock Worker\'s failures once when they are the same, and hands each job its own', async () => {
    const connection = { dataDir };
    const q = new Queue('w', { connection }, createRailyardBackend);
    await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'x', data: { i }, opts: { attempts: 2 } })));
    const seen = new Map<number, string[] | null>();
    const fail = (): never => {
      throw new Error('first try fails');
    };
    const w = new Worker(
      'w',
      async (j) => {
        if (j.attemptsMade === 0) fail();
        seen.set(j.data.i as number, j.stacktrace);
      },
      { connection, concurrency: 5 },
      createRailyardBackend,
    );
    try {
      await new Promise<void>((resolve) => w.on('completed', () => seen.size === 20 && resolve()));
      for (const s of seen.values()) {
        expect(s).toHaveLength(1);
        expect(s?.[0]).toMatch(/^Error: first try fails\n\s+at fail /);
      }
      // The Worker's failures of one throw site leave one text (or a few: V8 may format a frame
      // differently once the code is optimized), each counted by the jobs naming it.
      expect(texts().length).toBeLessThanOrEqual(3);
      expectCounted();
      const job = await q.getJob((await q.getJobs(['completed'], 0, 0))[0]!.id!);
      expect(job!.stacktrace).toEqual(seen.get(job!.data.i as number));
    } finally {
      await w.close();
      await q.close();
    }
  });
});
