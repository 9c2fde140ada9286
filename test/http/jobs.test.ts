import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { startBroker, type Broker } from '../../src/broker.js';
import { createRailyardBackend } from '../../src/jobs.js';
import type { RailyardQueue, RailyardWorker } from '../helpers/railyard-bullmq.js';
import { apiClient } from './helpers.js';
import { parsePrometheus } from './prom-parse.js';

type Json = Record<string, any>;

describe('jobs API (BullMQ queues in the data dir)', () => {
  let broker: Broker;
  let api: ReturnType<typeof apiClient>;
  let queue: RailyardQueue;
  let worker: RailyardWorker<{ to: string }> | undefined;

  beforeAll(async () => {
    broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent' });
    api = apiClient(broker.http.url);
    queue = new Queue('mail', { connection: { dataDir: broker.dataDir } }, createRailyardBackend);
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await broker?.stop();
  });

  it('lists queues with counts by state, pages jobs by state, and shows a job with data, logs and stack trace', async () => {
    await queue.add('welcome', { to: 'a@example.com' });
    await queue.add('later', { to: 'b@example.com' }, { delay: 60_000 });
    await queue.add('boom', { to: 'c@example.com' }, { attempts: 1 });
    const done = new Promise<void>((resolve) => {
      let finished = 0;
      const tick = () => {
        if (++finished === 2) resolve();
      };
      worker = new Worker(
        'mail',
        async (job) => {
          await job.log(`sending to ${job.data.to}`);
          await job.updateProgress(50);
          if (job.name === 'boom') throw new Error('smtp down');
          return { sent: true };
        },
        { connection: { dataDir: broker.dataDir } },
        createRailyardBackend,
      );
      worker.on('completed', tick);
      worker.on('failed', tick);
    });
    await done;
    await worker!.close();
    worker = undefined;
    await queue.add('queued', { to: 'd@example.com' });

    const list = await api<Json>('GET', '/api/jobs/queues');
    expect(list.status).toBe(200);
    const mail = list.body.queues.find((q: Json) => q.name === 'mail');
    expect(mail).toMatchObject({ paused: false, counts: { wait: 1, active: 0, delayed: 1, completed: 1, failed: 1 } });
    expect((await api<Json>('GET', '/api/jobs/queues/mail')).body).toEqual(mail);

    const failed = await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=failed');
    expect(failed.body).toMatchObject({ state: 'failed', total: 1 });
    const job = failed.body.jobs[0];
    expect(job).toMatchObject({ name: 'boom', state: 'failed', data: { to: 'c@example.com' }, failedReason: 'smtp down', progress: 50 });
    expect(job.stacktrace[0]).toMatch(/smtp down/);

    const completed = await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=completed');
    const detail = await api<Json>('GET', `/api/jobs/queues/mail/jobs/${completed.body.jobs[0].id}`);
    expect(detail.body).toMatchObject({ name: 'welcome', state: 'completed', returnvalue: { sent: true }, logs: ['sending to a@example.com'] });

    expect((await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=delayed')).body.jobs.map((j: Json) => j.name)).toEqual(['later']);
    expect((await api<Json>('GET', '/api/jobs/queues/mail/jobs')).body.jobs.map((j: Json) => j.name)).toEqual(['queued']);
  });

  it('paginates', async () => {
    await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: `bulk-${i}`, data: { i } })));
    const page1 = await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=wait&start=0&limit=2&order=asc');
    const page2 = await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=wait&start=2&limit=2&order=asc');
    expect(page1.body.total).toBe(6);
    expect(page1.body.jobs).toHaveLength(2);
    expect(page2.body.jobs).toHaveLength(2);
    const ids = [...page1.body.jobs, ...page2.body.jobs].map((j: Json) => j.id);
    expect(new Set(ids).size).toBe(4);
  });

  it('retries, promotes, removes, cleans, pauses and resumes', async () => {
    const failed = (await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=failed')).body.jobs[0];
    const retried = await api<Json>('POST', `/api/jobs/queues/mail/jobs/${failed.id}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { id: failed.id, state: 'wait' } });
    expect((await api<Json>('GET', `/api/jobs/queues/mail/jobs/${failed.id}`)).body).toMatchObject({ state: 'wait', failedReason: null });
    expect((await api<Json>('POST', `/api/jobs/queues/mail/jobs/${failed.id}/retry`)).status).toBe(409);

    const delayed = (await api<Json>('GET', '/api/jobs/queues/mail/jobs?state=delayed')).body.jobs[0];
    expect((await api<Json>('POST', `/api/jobs/queues/mail/jobs/${delayed.id}/promote`)).body).toMatchObject({ state: 'wait' });
    expect((await api<Json>('POST', `/api/jobs/queues/mail/jobs/${delayed.id}/promote`)).status).toBe(409);

    expect((await api<Json>('DELETE', `/api/jobs/queues/mail/jobs/${delayed.id}`)).body).toEqual({ queue: 'mail', removed: delayed.id });
    expect((await api('GET', `/api/jobs/queues/mail/jobs/${delayed.id}`)).status).toBe(404);

    const cleaned = await api<Json>('POST', '/api/jobs/queues/mail/clean', { state: 'completed' });
    expect(cleaned.body.removed).toHaveLength(1);
    expect((await api<Json>('GET', '/api/jobs/queues/mail')).body.counts.completed).toBe(0);
    expect((await api<Json>('POST', '/api/jobs/queues/mail/clean', { state: 'wait', graceMs: 3_600_000 })).body.removed).toEqual([]);

    expect((await api<Json>('POST', '/api/jobs/queues/mail/pause')).body).toMatchObject({ name: 'mail', paused: true });
    expect(await queue.isPaused()).toBe(true);
    expect((await api<Json>('POST', '/api/jobs/queues/mail/resume')).body).toMatchObject({ paused: false });
    expect(await queue.isPaused()).toBe(false);
  });

  it('exports job counts by queue and state in /metrics', async () => {
    const counts = (await api<Json>('GET', '/api/jobs/queues/mail')).body.counts as Record<string, number>;
    const { types, samples } = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
    expect(types.get('railyard_jobs')).toBe('gauge');
    for (const [state, n] of Object.entries(counts)) {
      expect(samples.find((x) => x.name === 'railyard_jobs' && x.labels.queue === 'mail' && x.labels.state === state)?.value).toBe(n);
    }
  });

  it('refuses actions on missing jobs and queues (404) and bad bodies (400)', async () => {
    expect((await api('POST', '/api/jobs/queues/mail/jobs/99999/retry')).status).toBe(404);
    expect((await api('POST', '/api/jobs/queues/mail/jobs/99999/promote')).status).toBe(404);
    expect((await api('DELETE', '/api/jobs/queues/mail/jobs/99999')).status).toBe(404);
    expect((await api('POST', '/api/jobs/queues/nope/pause')).status).toBe(404);
    expect((await api('POST', '/api/jobs/queues/nope/clean', { state: 'failed' })).status).toBe(404);
    expect(await api('POST', '/api/jobs/queues/mail/clean', { state: 'gone' })).toMatchObject({ status: 400, body: { field: 'state' } });
    expect(await api('POST', '/api/jobs/queues/mail/clean', { state: 'failed', limit: -1 })).toMatchObject({ status: 400, body: { field: 'limit' } });
  });

  it('answers 404 for unknown queues and jobs, 400 for bad query fields', async () => {
    expect((await api('GET', '/api/jobs/queues/nope')).status).toBe(404);
    expect((await api('GET', '/api/jobs/queues/nope/jobs')).status).toBe(404);
    expect((await api('GET', '/api/jobs/queues/mail/jobs/99999')).status).toBe(404);
    expect(await api('GET', '/api/jobs/queues/mail/jobs?state=sleeping')).toMatchObject({ status: 400, body: { field: 'state' } });
    expect(await api('GET', '/api/jobs/queues/mail/jobs?limit=0')).toMatchObject({ status: 400, body: { field: 'limit' } });
    expect(await api('GET', '/api/jobs/queues/mail/jobs?order=up')).toMatchObject({ status: 400, body: { field: 'order' } });
  });
});
