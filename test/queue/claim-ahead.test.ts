import { describe, expect, it } from 'vitest';
import type { JobJson } from 'bullmq';
import { JobStore } from '../../src/queue/store.js';
import { QueueOps, type ClaimOptions, type ClaimResult } from '../../src/queue/queue-ops.js';
import { rowToJobJson } from '../../src/queue/job-row.js';
import { useQueueOps } from './fixtures/queue-ops.js';

// Claims issued together (one group-commit batch) read the next rows in one SELECT and write
// their takes in one UPDATE (GroupCommit.picks / deferTake). Whatever else runs in the batch,
// each claim must get what it would have got alone, in the same order, and leave the row as a
// lone claim would.
describe('claims read ahead within a batch', () => {
  let dataDir: string;
  let store: JobStore;
  let ops: QueueOps;
  const job = (name: string, opts: JobJson['opts'] = {}): JobJson =>
    ({ name, data: JSON.stringify({ name }), opts, timestamp: Date.now(), delay: 0, priority: 0 }) as unknown as JobJson;
  const claimOpts = (i: number, extra: Partial<ClaimOptions> = {}): ClaimOptions => ({
    token: `tok-${i}`,
    workerName: `w${i}`,
    lockDuration: 30_000 + i,
    ...extra,
  });
  const finish = { keep: {}, attempts: 1, metricsMaxDataPoints: 0 };
  /** `n` claims issued in one event-loop turn, so in one batch; the ids they got ('' for none). */
  const claimAll = async (n: number, extra: Partial<ClaimOptions> = {}): Promise<string[]> =>
    (await Promise.all(Array.from({ length: n }, (_, i) => ops.claim(claimOpts(i, extra))))).map((r) => r[1]);

  useQueueOps('railyard-ahead-', (f) => ({ dataDir, store, ops } = f));

  it('hands out jobs in priority, FIFO and LIFO order, each row taken with its own claim’s token and lease', async () => {
    await ops.addJobs([
      { job: job('p2', { priority: 2 }), jobId: 'p2' },
      { job: job('f1'), jobId: 'f1' },
      { job: job('p1', { priority: 1 }), jobId: 'p1' },
      { job: job('f2'), jobId: 'f2' },
      { job: job('l1', { lifo: true }), jobId: 'l1' },
    ]);
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => ops.claim(claimOpts(i))));
    expect(results.map((r) => r[1])).toEqual(['l1', 'f1', 'f2', 'p1', 'p2', '']);
    results.slice(0, 5).forEach(([claimed, id], i) => {
      const row = ops.row(id)!;
      expect(row).toMatchObject({ state: 'active', lock_token: `tok-${i}`, processed_by: `w${i}`, attempts_started: 1 });
      expect(row.locked_until! - row.processed_on!).toBe(30_000 + i);
      expect(claimed).toEqual(rowToJobJson(row));
    });
  });

  it('sees a job added between two claims of the batch where a lone claim would', async () => {
    await ops.addJobs([1, 2, 3].map((i) => ({ job: job(`p${i}`, { priority: 5 }), jobId: `p${i}` })));
    // The first claim reads p1..p3 ahead; the plain job added next goes before all of them.
    const got = await Promise.all([
      ops.claim(claimOpts(0)),
      ops.claim(claimOpts(1)),
      ops.addJobs([{ job: job('plain'), jobId: 'plain' }]),
      ops.claim(claimOpts(2)),
      ops.claim(claimOpts(3)),
    ]);
    expect([got[0], got[1], got[3], got[4]].map((r) => r[1])).toEqual(['p1', 'p2', 'plain', 'p3']);
  });

  it('completes a job claimed earlier in the same batch (its take not yet written)', async () => {
    await ops.addJobs([{ job: job('a'), jobId: 'a' }, { job: job('b'), jobId: 'b' }]);
    const [first, done, next] = await Promise.all([
      ops.claim(claimOpts(0)),
      ops.complete('a', '"ok"', 'tok-0', { ...finish, next: claimOpts(1) }),
      ops.claim(claimOpts(2)),
    ]);
    expect(first[1]).toBe('a');
    expect(done.result?.[1]).toBe('b');
    expect(next[1]).toBe('');
    expect(ops.row('a')).toMatchObject({ state: 'completed', returnvalue: '"ok"', lock_token: null });
    expect(ops.row('b')).toMatchObject({ state: 'active', lock_token: 'tok-1' });
  });

  it('keeps a global concurrency limit and a rate limit exact inside one batch', async () => {
    await ops.addJobs([1, 2, 3, 4, 5, 6].map((i) => ({ job: job(`j${i}`), jobId: `j${i}` })));
    await ops.setMeta({ concurrency: 2 });
    expect(await claimAll(4)).toEqual(['j1', 'j2', '', '']);
    await ops.removeMeta(['concurrency']);
    const limited = await Promise.all([0, 1, 2].map((i) => ops.claim(claimOpts(i, { limiter: { max: 1, duration: 60_000 } }))));
    expect(limited.map((r) => r[1])).toEqual(['j3', '', '']);
    expect(limited[1]![2]).toBeGreaterThan(0);
  });

  it('claims nothing twice when an operation of the batch fails and the batch runs again in savepoints', async () => {
    await ops.addJobs([1, 2, 3, 4].map((i) => ({ job: job(`j${i}`), jobId: `j${i}` })));
    const boom = new Error('boom');
    const settled = await Promise.allSettled([
      ops.claim(claimOpts(0)),
      ops.claim(claimOpts(1)),
      store.group.run('q', () => {
        throw boom;
      }),
      ops.claim(claimOpts(2)),
    ]);
    expect(settled[2]).toEqual({ status: 'rejected', reason: boom });
    const ids = [settled[0], settled[1], settled[3]].map((s) => (s as PromiseFulfilledResult<ClaimResult>).value[1]);
    expect(ids).toEqual(['j1', 'j2', 'j3']);
    ids.forEach((id, i) => expect(ops.row(id)).toMatchObject({ state: 'active', lock_token: `tok-${[0, 1, 2][i]}`, attempts_started: 1 }));
    expect(ops.row('j4')).toMatchObject({ state: 'waiting', attempts_started: 0 });
  });

  it('writes completions of one batch together, and fails alone one whose job another process took meanwhile', async () => {
    await ops.addJobs([1, 2, 3, 4].map((i) => ({ job: job(`j${i}`), jobId: `j${i}` })));
    const ids = await claimAll(4);
    expect(ids).toEqual(['j1', 'j2', 'j3', 'j4']);
    // j2's lease expired and another process claimed it: its row holds that claim's token.
    store.db.prepare("UPDATE jobs_job SET lock_token = 'theirs' WHERE queue = 'q' AND id = 'j2'").run();
    const settled = await Promise.allSettled(ids.map((id, i) => ops.complete(id, `"r${i}"`, `tok-${i}`, finish)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/lock/i);
    expect(ops.row('j2')).toMatchObject({ state: 'active', lock_token: 'theirs', attempts_made: 0 });
    for (const [i, id] of ['j1', 'j3', 'j4'].entries()) {
      expect(ops.row(id)).toMatchObject({ state: 'completed', lock_token: null, attempts_made: 1, returnvalue: `"r${[0, 2, 3][i]}"` });
    }
    // And alone in its batch: failed with its reason, not undone silently.
    store.db.prepare("UPDATE jobs_job SET lock_token = 'theirs2' WHERE queue = 'q' AND id = 'j2'").run();
    await expect(ops.complete('j2', '1', 'theirs', finish)).rejects.toThrow(/lock/i);
  });

  it('claims nothing after a pause issued between claims of the batch', async () => {
    await ops.addJobs([1, 2, 3].map((i) => ({ job: job(`j${i}`), jobId: `j${i}` })));
    const got = await Promise.all([ops.claim(claimOpts(0)), ops.pause(true), ops.claim(claimOpts(1))]);
    expect([got[0][1], got[2][1]]).toEqual(['j1', '']);
    await ops.pause(false);
    expect(await claimAll(3)).toEqual(['j2', 'j3', '']);
  });
});
