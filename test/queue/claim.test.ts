import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobJson } from 'bullmq';
import { JobStore } from '../../src/queue/store.js';
import { QueueOps } from '../../src/queue/queue-ops.js';
import { rowToJobJson } from '../../src/queue/job-row.js';

// A claim reads few columns of a job never tried before and fills in the rest (job-row.ts):
// what it hands out must be the stored row as the claim leaves it, whichever way it was read.
describe('claim', () => {
  let dataDir: string;
  let store: JobStore;
  let ops: QueueOps;
  const claim = { token: 'tok', workerName: 'w1', lockDuration: 30_000 };
  const job = (name: string, opts: JobJson['opts'] = {}): JobJson =>
    ({ name, data: JSON.stringify({ name }), opts, timestamp: Date.now(), delay: 0, priority: 0 }) as unknown as JobJson;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-claim-'));
    store = JobStore.acquire(dataDir);
    ops = new QueueOps(store, 'q', 10_000);
  });
  afterEach(async () => {
    await store.release();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const claimAndCompare = async (): Promise<JobJson> => {
    const [claimed, id] = await ops.claim(claim);
    expect(claimed).not.toBeNull();
    expect(claimed).toEqual(rowToJobJson(ops.row(id)!));
    return claimed!;
  };

  it('hands out a fresh job as stored after the claim', async () => {
    await ops.addJobs([{ job: job('fresh', { attempts: 3, backoff: { type: 'fixed', delay: 10 } }), jobId: '' }]);
    const claimed = await claimAndCompare();
    expect(claimed).toMatchObject({ id: '1', attemptsStarted: 1, attemptsMade: 0, processedBy: 'w1', stacktrace: '[]', returnvalue: 'null' });
  });

  it('hands out a job tried before, with progress and its last failure, as stored after the claim', async () => {
    await ops.addJobs([{ job: job('again', { attempts: 3 }), jobId: 'a' }]);
    await ops.claim(claim);
    await ops.updateProgress('a', JSON.stringify({ step: 2 }));
    await ops.retry('a', false, 'tok', 'boom', JSON.stringify(['at x']));
    const claimed = await claimAndCompare();
    expect(claimed).toMatchObject({ id: 'a', attemptsStarted: 2, attemptsMade: 1, failedReason: 'boom', progress: { step: 2 } });
  });

  it('hands out a deduplicated job as stored after the claim', async () => {
    await ops.addJobs([{ job: { ...job('dedup', { deduplication: { id: 'd1' } }), deduplicationId: 'd1' } as JobJson, jobId: '' }]);
    const claimed = await claimAndCompare();
    expect(claimed.deduplicationId).toBe('d1');
  });
});
