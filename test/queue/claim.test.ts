import { describe, expect, it } from 'vitest';
import type { JobJson } from 'bullmq';
import { JobStore } from '../../src/queue/store.js';
import { QueueOps } from '../../src/queue/queue-ops.js';
import { rowToJobJson } from '../../src/queue/job-row.js';
import { CLAIM_RESERVE_BYTES } from '../../src/queue/schema.js';
import { useQueueOps } from './fixtures/queue-ops.js';

// A claim reads few columns of a job never tried before and fills in the rest (job-row.ts):
// what it hands out must be the stored row as the claim leaves it, whichever way it was read.
describe('claim', () => {
  let dataDir: string;
  let store: JobStore;
  let ops: QueueOps;
  const claim = { token: 'tok', workerName: 'w1', lockDuration: 30_000 };
  const job = (name: string, opts: JobJson['opts'] = {}): JobJson =>
    ({ name, data: JSON.stringify({ name }), opts, timestamp: Date.now(), delay: 0, priority: 0 }) as unknown as JobJson;

  useQueueOps('railyard-claim-', (f) => ({ dataDir, store, ops } = f));

  const claimAndCompare = async (): Promise<JobJson> => {
    const [claimed, id] = await ops.claim(claim);
    expect(claimed).not.toBeNull();
    expect(claimed).toEqual(rowToJobJson(ops.row(id)!));
    return claimed!;
  };

  it('hands out a fresh job as stored after the claim', async () => {
    await ops.addJobs([{ job: job('fresh', { attempts: 3, backoff: { type: 'fixed', delay: 10 } }), jobId: '' }]);
    const claimed = await claimAndCompare();
    expect(claimed).toMatchObject({ id: '1', attemptsStarted: 1, attemptsMade: 0, processedBy: 'w1' });
    // Absent, as in a fresh job's Redis hash (Job.fromJSON makes [] and null of them).
    expect(claimed!.stacktrace).toBeUndefined();
    expect(claimed!.returnvalue).toBeUndefined();
  });

  it('hands out a job tried before, with progress and its last failure, as stored after the claim', async () => {
    await ops.addJobs([{ job: job('again', { attempts: 3 }), jobId: 'a' }]);
    await ops.claim(claim);
    await ops.updateProgress('a', JSON.stringify({ step: 2 }));
    await ops.retry('a', false, 'tok', 'boom', JSON.stringify(['at x']));
    const claimed = await claimAndCompare();
    expect(claimed).toMatchObject({ id: 'a', attemptsStarted: 2, attemptsMade: 1, failedReason: 'boom', progress: { step: 2 } });
  });

  it('hands out a job retried at once (its failure only) from the pick, as stored after the claim, alone or read ahead', async () => {
    await ops.addJobs(['r1', 'r2', 'r3'].map((id) => ({ job: job(id, { attempts: 3 }), jobId: id })));
    for (const id of ['r1', 'r2']) {
      await ops.claim(claim);
      await ops.retry(id, false, 'tok', `boom ${id}`, JSON.stringify([`at ${id}`]));
    }
    // r3 is next, then the retried r1 and r2 (at the back of the line), claimed in one batch.
    const [, lone] = await ops.claim(claim);
    expect(lone).toBe('r3');
    const batch = await Promise.all([ops.claim(claim), ops.claim({ ...claim, token: 'tok2' })]);
    expect(batch.map(([, id]) => id)).toEqual(['r1', 'r2']);
    for (const [claimed, id] of batch) {
      expect(claimed).toEqual(rowToJobJson(ops.row(id)!));
      expect(claimed).toMatchObject({ attemptsStarted: 2, attemptsMade: 1, failedReason: `boom ${id}`, stacktrace: JSON.stringify([`at ${id}`]) });
    }
    expect(ops.row('r2')!.lock_token).toBe('tok2');
  });

  it('adds a job with room for its claim, which the claim takes: claiming a page of jobs does not split it', async () => {
    await ops.addJobs(Array.from({ length: 300 }, (_, i) => ({ job: job(`r${i}`), jobId: `r${i}` })));
    const pages = (): number => (store.db.prepare("SELECT count(*) AS n FROM dbstat WHERE name = 'jobs_job'").get() as { n: number }).n;
    expect((ops.row('r0')!.reserve as Buffer).length).toBe(CLAIM_RESERVE_BYTES);
    const before = pages();
    // BullMQ's tokens: a worker's uuid and a counter.
    const token = (i: number): string => `4f0d8b2e-9a51-4c3b-8e7d-2b6a1c9f0e3d:${i}`;
    for (let i = 0; i < 300; i += 30) {
      await Promise.all(Array.from({ length: 30 }, (_, k) => ops.claim({ ...claim, token: token(i + k) })));
    }
    expect(ops.row('r299')!.state).toBe('active');
    expect(ops.row('r0')!.reserve).toBeNull();
    expect(pages()).toBe(before);
  });

  it('hands out a deduplicated job as stored after the claim', async () => {
    await ops.addJobs([{ job: { ...job('dedup', { deduplication: { id: 'd1' } }), deduplicationId: 'd1' } as JobJson, jobId: '' }]);
    const claimed = await claimAndCompare();
    expect(claimed.deduplicationId).toBe('d1');
  });

  it('hands out data, name and options through the JSON the claim reads, unchanged', async () => {
    const data = JSON.stringify({ s: 'quote " backslash \\ nl \n tab \t nul \u0000 é 𝄞 \ud800', n: 2 ** 53 - 1, f: 0.1 });
    const opts = { attempts: 2, backoff: { type: 'fixed', delay: 5 }, jobId: 'x', timestamp: 1 } as JobJson['opts'];
    await ops.addJobs([{ job: { ...job('näme "q"', opts), data } as JobJson, jobId: 'id "☃"' }]);
    const claimed = await claimAndCompare();
    expect(claimed).toMatchObject({ id: 'id "☃"', name: 'näme "q"', data, opts });
  });

  // A completion finds its row by the rowid its claim read here (QueueOps.claimedRows); that is
  // only a hint, checked against queue, id, state and token.
  describe('completion by the rowid remembered at claim', () => {
    const finish = { keep: {}, attempts: 1, metricsMaxDataPoints: 0 };
    const expire = (id: string) => store.db.prepare("UPDATE jobs_job SET locked_until = 0 WHERE queue = 'q' AND id = ?").run(id);

    it('refuses a lease taken over by another process after a stall', async () => {
      await ops.addJobs([{ job: job('a'), jobId: 'a' }]);
      await ops.claim(claim);
      expire('a');
      const other = new QueueOps(store, 'q', 10_000);
      expect(await other.recoverStalled(1, 0)).toEqual(['a']);
      await other.claim({ ...claim, token: 'tok2' });
      await expect(ops.complete('a', '1', 'tok', finish)).rejects.toThrow(/lock/i);
      await other.complete('a', '2', 'tok2', finish);
      expect(ops.row('a')).toMatchObject({ state: 'completed', returnvalue: '2' });
    });

    it('does not complete another job that reused the rowid of a removed one', async () => {
      await ops.addJobs([{ job: job('a'), jobId: 'a' }]);
      await ops.claim(claim);
      const rid = ops.row('a')!.rid;
      expire('a');
      expect(await ops.remove('a')).toBe(1);
      await ops.addJobs([{ job: job('b'), jobId: 'b' }]);
      // SQLite hands the removed job's rowid, the largest, to the next row.
      expect(ops.row('b')!.rid).toBe(rid);
      store.db.prepare("UPDATE jobs_job SET state = 'active', lock_token = 'tok' WHERE id = 'b'").run();
      await expect(ops.complete('a', '1', '0', finish)).rejects.toThrow(/Missing key/i);
      expect(ops.row('b')).toMatchObject({ state: 'active' });
    });
  });
});
