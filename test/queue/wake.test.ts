import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { createRailyardBackend, type RailyardQueueBackend } from '../../src/jobs.js';
import { sleep, until } from './targets.js';

describe('idle workers', () => {
  let dataDir: string;
  const closers: { close(): Promise<void> }[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-wake-'));
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('park without polling, ignore wake-ups with nothing to claim, and wake at once for a job', async () => {
    let claims = 0;
    // The real backend; only its claim calls are counted.
    const counting: typeof createRailyardBackend = (name, opts, f) => {
      const b: RailyardQueueBackend = createRailyardBackend(name, opts, f);
      const claim = b.moveToActive.bind(b);
      b.moveToActive = (token: string, n?: string) => {
        claims++;
        return claim(token, n);
      };
      return b;
    };
    const connection = { dataDir };
    const q = new Queue('idle', { connection }, createRailyardBackend);
    const started: number[] = [];
    const w = new Worker('idle', async (job) => {
      started.push(Date.now() - job.timestamp);
    }, { connection, drainDelay: 60 }, counting);
    closers.push(w, q);
    await w.waitUntilReady();
    await sleep(100);
    const idleClaims = claims;
    await sleep(400);
    expect(claims).toBe(idleClaims);
    // Delayed jobs far in the future signal the worker, which re-arms its timer instead of claiming.
    for (let i = 0; i < 20; i++) await q.add('later', {}, { delay: 60_000 });
    await sleep(50);
    expect(claims - idleClaims).toBeLessThanOrEqual(1);
    await q.add('now', {});
    await until(() => started.length === 1, 2000);
  });
});
