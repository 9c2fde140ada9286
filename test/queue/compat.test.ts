import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnrecoverableError, WaitingChildrenError, Worker, type IQueueBackend, type Job, type JobType } from 'bullmq';
import { fileURLToPath } from 'node:url';
import { sleep, targets, until, type Target } from './targets.js';

describe.each(targets())('BullMQ on $name', ({ run }) => run(scenarios));

function scenarios<B extends IQueueBackend, C>(make: () => Target<B, C>): void {
  let t: Target<B, C>;
  beforeEach(() => {
    t = make();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('adds, processes and completes a job with its return value', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    t.worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }));
    const job = await q.add('double', { n: 21 });
    expect(job.id).toBe('1');
    expect(await job.waitUntilFinished(qe)).toEqual({ doubled: 42 });
    const stored = (await q.getJob(job.id!))!;
    expect(stored.returnvalue).toEqual({ doubled: 42 });
    expect(stored.attemptsMade).toBe(1);
    expect(stored.finishedOn).toBeGreaterThanOrEqual(stored.processedOn!);
    expect(await stored.getState()).toBe('completed');
    const counts = await q.getJobCounts('completed', 'waiting', 'active');
    expect(counts).toEqual({ completed: 1, waiting: 0, active: 0 });
  });

  it('retries with fixed backoff and succeeds on the third attempt', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const starts: number[] = [];
    t.worker(name, async (job) => {
      starts.push(Date.now());
      if (job.attemptsMade < 2) throw new Error(`boom ${job.attemptsMade}`);
      return 'ok';
    });
    const job = await q.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    expect(await job.waitUntilFinished(qe)).toBe('ok');
    expect(starts).toHaveLength(3);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(95);
    const done = (await q.getJob(job.id!))!;
    expect(done.attemptsMade).toBe(3);
    expect(done.stacktrace).toHaveLength(2);
    expect(done.failedReason).toBe('boom 1');
  });

  it('fails for good after the last attempt, and at once on UnrecoverableError', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const exhausted: string[] = [];
    qe.on('retries-exhausted', ({ jobId }) => exhausted.push(jobId));
    let calls = 0;
    t.worker(name, async (job) => {
      calls++;
      if (job.name === 'fatal') throw new UnrecoverableError('no point');
      throw new Error('always');
    });
    const a = await q.add('flaky', {}, { attempts: 2, backoff: 10 });
    await expect(a.waitUntilFinished(qe)).rejects.toThrow('always');
    const b = await q.add('fatal', {}, { attempts: 5 });
    await expect(b.waitUntilFinished(qe)).rejects.toThrow('no point');
    expect(calls).toBe(3);
    expect((await q.getJob(a.id!))!.attemptsMade).toBe(2);
    expect((await q.getJob(b.id!))!.attemptsMade).toBe(1);
    expect(await q.getFailedCount()).toBe(2);
    await until(() => exhausted.length >= 1);
    expect(exhausted).toContain(a.id);
  });

  it('serves plain jobs first, then priorities lowest number first, FIFO within one, LIFO on request', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    await q.add('p3', {}, { priority: 3 });
    await q.add('plain1', {});
    await q.add('p1a', {}, { priority: 1 });
    await q.add('p2', {}, { priority: 2 });
    await q.add('p1b', {}, { priority: 1 });
    await q.add('plain2', {});
    await q.add('lifo', {}, { lifo: true });
    expect(await q.getPrioritizedCount()).toBe(4);
    expect(await q.getWaitingCount()).toBe(3);
    expect(await q.getCountsPerPriority([0, 1, 2, 3])).toEqual({ '0': 3, '1': 2, '2': 1, '3': 1 });
    const order: string[] = [];
    t.worker(name, async (job) => {
      order.push(job.name);
    });
    await until(() => order.length === 7);
    expect(order).toEqual(['lifo', 'plain1', 'plain2', 'p1a', 'p1b', 'p2', 'p3']);
  });

  it('runs a delayed job no earlier than its delay, and promote runs it at once', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const delayedEvents: number[] = [];
    qe.on('delayed', ({ delay }) => delayedEvents.push(delay));
    t.worker(name, async () => 'done');
    const job = await q.add('later', {}, { delay: 300 });
    expect(await job.getState()).toBe('delayed');
    expect(await q.getDelayedCount()).toBe(1);
    await job.waitUntilFinished(qe);
    const done = (await q.getJob(job.id!))!;
    expect(done.processedOn! - done.timestamp).toBeGreaterThanOrEqual(300);
    expect(delayedEvents).toEqual([done.timestamp + 300]);

    const far = await q.add('far', {}, { delay: 60_000 });
    await far.promote();
    await far.waitUntilFinished(qe);
    expect(await far.getState()).toBe('completed');
  });

  it('changes delay and priority of waiting jobs', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const d = await q.add('d', {}, { delay: 60_000 });
    await d.changeDelay(10);
    const p = await q.add('p', {}, { priority: 5 });
    await q.add('other', {}, { priority: 3 });
    await p.changePriority({ priority: 1 });
    await sleep(20);
    const order: string[] = [];
    t.worker(name, async (job) => {
      order.push(job.name);
    });
    await until(() => order.length === 3);
    expect(order.indexOf('p')).toBeLessThan(order.indexOf('other'));
  });

  it('pauses and resumes: a paused queue hands out nothing and keeps its jobs in wait', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const seen: string[] = [];
    qe.on('paused', () => seen.push('paused'));
    qe.on('resumed', () => seen.push('resumed'));
    await q.pause();
    expect(await q.isPaused()).toBe(true);
    const processed: string[] = [];
    t.worker(name, async (job) => {
      processed.push(job.id!);
    });
    await q.add('a', {});
    await sleep(200);
    expect(processed).toEqual([]);
    // BullMQ 6 pauses with a flag and its typings dropped the legacy 'paused' list from JobType,
    // but getJobCounts still counts whatever type it is given: asking for 'paused' shows both
    // targets leave that list empty and keep the job in wait.
    expect(await q.getJobCounts('paused' as JobType, 'waiting')).toEqual({ paused: 0, waiting: 1 });
    await q.resume();
    await until(() => processed.length === 1);
    expect(await q.isPaused()).toBe(false);
    await until(() => seen.length === 2);
    expect(seen).toEqual(['paused', 'resumed']);
  });

  it('publishes the life-cycle events with their fields, in order', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const log: string[] = [];
    for (const ev of ['added', 'waiting', 'active', 'progress', 'completed', 'failed'] as const) {
      qe.on(ev, (args: Record<string, unknown>) => {
        const extra = ev === 'progress' ? JSON.stringify(args['data']) : ev === 'completed' ? JSON.stringify(args['returnvalue']) : ev === 'failed' ? String(args['failedReason']) : '';
        log.push(`${ev}:${String(args['jobId'])}${extra ? ':' + extra : ''}`);
      });
    }
    t.worker(name, async (job) => {
      await job.updateProgress({ pct: 50 });
      if (job.name === 'bad') throw new Error('nope');
      return 7;
    });
    const a = await q.add('good', {});
    await a.waitUntilFinished(qe);
    const b = await q.add('bad', {});
    await expect(b.waitUntilFinished(qe)).rejects.toThrow('nope');
    await until(() => log.includes('failed:2:nope'));
    expect(log).toEqual([
      'added:1',
      'waiting:1',
      'active:1',
      'progress:1:{"pct":50}',
      'completed:1:7',
      'added:2',
      'waiting:2',
      'active:2',
      'progress:2:{"pct":50}',
      'failed:2:nope',
    ]);
  });

  it('reports counts and pages getJobs like Redis', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    for (let i = 1; i <= 5; i++) await q.add(`w${i}`, {});
    await q.add('d1', {}, { delay: 50_000 });
    await q.add('d2', {}, { delay: 40_000 });
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 5, delayed: 2 });
    expect((await q.getWaiting(0, 1)).map((j) => j.name)).toEqual(['w1', 'w2']);
    expect((await q.getJobs(['waiting'], 0, -1, false)).map((j) => j.name)).toEqual(['w5', 'w4', 'w3', 'w2', 'w1']);
    expect((await q.getJobs(['waiting'], 1, 2, true)).map((j) => j.name)).toEqual(['w2', 'w3']);
    expect((await q.getDelayed()).map((j) => j.name)).toEqual(['d2', 'd1']);
    expect((await q.getJobs(['delayed'], 0, 0, false)).map((j) => j.name)).toEqual(['d1']);
    expect(await q.count()).toBe(7);

    const done: string[] = [];
    t.worker(name, async (job) => {
      done.push(job.name);
    });
    await until(() => done.length === 5);
    await until(async () => (await q.getCompletedCount()) === 5);
    expect((await q.getCompleted(0, 1)).length).toBe(2);
    const completedAsc = (await q.getJobs(['completed'], 0, -1, true)).map((j) => j.name);
    expect(completedAsc).toHaveLength(5);
    expect(completedAsc[0]).toBe('w1');
  });

  it('removes jobs and publishes removed; active jobs with a live lock are not removed', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const removed: string[] = [];
    qe.on('removed', ({ jobId }) => removed.push(jobId));
    const a = await q.add('a', {});
    await a.remove();
    expect(await q.getJob(a.id!)).toBeUndefined();
    await until(() => removed.length === 1);
    expect(removed).toEqual([a.id]);

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    t.worker(name, async () => held);
    const b = await q.add('b', {});
    await until(async () => (await b.getState()) === 'active');
    expect(await q.remove(b.id!)).toBe(0);
    release();
    await b.waitUntilFinished(qe);
  });

  it('keeps progress and logs, with keepLogs trimming the oldest', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const job = await q.add('x', {}, { keepLogs: 2 });
    await job.updateProgress(42);
    await job.log('one');
    await job.log('two');
    const count = await job.log('three');
    expect(count).toBe(2);
    expect((await q.getJob(job.id!))!.progress).toBe(42);
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: ['two', 'three'], count: 2 });
    expect(await q.getJobLogs(job.id!, 0, -1, false)).toEqual({ logs: ['three', 'two'], count: 2 });
    await job.clearLogs();
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: [], count: 0 });
  });

  it('honours removeOnComplete counts and removeOnFail', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const done: string[] = [];
    const w = t.worker(name, async (job) => {
      if (job.name === 'bad') throw new Error('x');
    });
    w.on('completed', (j: Job) => done.push(j.id!));
    w.on('failed', (j?: Job) => done.push(j!.id!));
    for (let i = 0; i < 5; i++) await q.add('ok', {}, { removeOnComplete: 2 });
    await q.add('bad', {}, { removeOnFail: true });
    await until(() => done.length === 6);
    expect(await q.getCompletedCount()).toBe(2);
    expect(await q.getFailedCount()).toBe(0);
  });

  it('cleans, drains, retries failed jobs and obliterates', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    let fail = true;
    const done: string[] = [];
    const w = t.worker(name, async (job) => {
      if (fail) throw new Error('first pass');
      return job.name;
    });
    w.on('failed', (j?: Job) => done.push(`f${j!.id}`));
    w.on('completed', (j: Job) => done.push(`c${j.id}`));
    await q.add('a', {});
    await q.add('b', {});
    await until(() => done.length === 2);
    fail = false;
    await q.retryJobs({ state: 'failed' });
    await until(() => done.length === 4);
    expect(await q.getCompletedCount()).toBe(2);
    await sleep(5);
    const cleaned = await q.clean(0, 100, 'completed');
    expect(cleaned.sort()).toEqual(['1', '2']);
    expect(await q.getCompletedCount()).toBe(0);

    await w.close();
    await q.add('w', {});
    await q.add('dl', {}, { delay: 60_000 });
    await q.drain();
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 1 });
    await q.drain(true);
    expect(await q.getDelayedCount()).toBe(0);

    await q.add('z', {});
    await q.pause();
    await q.obliterate();
    expect(await q.getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: 0 });
  });

  it('deduplicates by id while the first job is unfinished', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const dups: string[] = [];
    qe.on('deduplicated', ({ jobId }) => dups.push(jobId));
    const a = await q.add('x', { v: 1 }, { deduplication: { id: 'k' } });
    const b = await q.add('x', { v: 2 }, { deduplication: { id: 'k' } });
    expect(b.id).toBe(a.id);
    expect(await q.getWaitingCount()).toBe(1);
    expect(await q.getDeduplicationJobId('k')).toBe(a.id);
    await until(() => dups.length === 1);
    t.worker(name, async () => 'ok');
    await a.waitUntilFinished(qe);
    const c = await q.add('x', { v: 3 }, { deduplication: { id: 'k' } });
    expect(c.id).not.toBe(a.id);
  });

  it('deduplication.replace swaps a delayed holder for the new job; other holders stand', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const seen: string[] = [];
    qe.on('removed', ({ jobId, prev }) => seen.push(`removed ${jobId} ${prev}`));
    qe.on('deduplicated', ({ jobId, deduplicatedJobId }) => seen.push(`dedup ${jobId} ${deduplicatedJobId}`));
    const de = { id: 'r', replace: true, ttl: 60_000 };
    const a = await q.add('x', { v: 1 }, { delay: 60_000, deduplication: de });
    const b = await q.add('x', { v: 2 }, { delay: 60_000, deduplication: de });
    expect(b.id).not.toBe(a.id);
    expect(await q.getJob(a.id!)).toBeUndefined();
    expect((await q.getJob(b.id!))!.data).toEqual({ v: 2 });
    expect(await q.getDeduplicationJobId('r')).toBe(b.id);
    expect(await q.getDelayedCount()).toBe(1);
    await until(() => seen.length === 2);
    expect(seen).toEqual([`removed ${a.id} delayed`, `dedup ${b.id} ${a.id}`]);
    // A waiting holder is not replaced: the add returns it.
    const w1 = await q.add('y', { v: 1 }, { deduplication: { id: 'w', replace: true } });
    const w2 = await q.add('y', { v: 2 }, { deduplication: { id: 'w', replace: true } });
    expect(w2.id).toBe(w1.id);
    expect((await q.getJob(w1.id!))!.data).toEqual({ v: 1 });
    expect(await q.getWaitingCount()).toBe(1);
    // Replacing keeps the id's ttl running from the first add: once it ran out, a new add is
    // a new window and the last job stays.
    const ttl = { id: 't', replace: true, ttl: 500 };
    await q.add('t', { v: 1 }, { delay: 60_000, deduplication: ttl });
    await sleep(250);
    const t2 = await q.add('t', { v: 2 }, { delay: 60_000, deduplication: ttl });
    await sleep(350);
    const t3 = await q.add('t', { v: 3 }, { delay: 60_000, deduplication: ttl });
    expect(t3.id).not.toBe(t2.id);
    expect(await q.getJob(t2.id!)).toBeDefined();
    expect(await q.getDeduplicationJobId('t')).toBe(t3.id);
  });

  it('deduplication.keepLastIfActive runs the last add made while the holder was active', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const ran: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.worker(name, async (job) => {
      ran.push((job.data as { v: number }).v);
      if (ran.length === 1) await gate;
      return (job.data as { v: number }).v;
    });
    const de = { id: 'k', keepLastIfActive: true };
    const a = await q.add('x', { v: 1 }, { deduplication: de });
    await until(async () => (await a.getState()) === 'active');
    const b = await q.add('x', { v: 2 }, { deduplication: de });
    const c = await q.add('x', { v: 3 }, { deduplication: de });
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    expect(await q.getWaitingCount()).toBe(0);
    release();
    await a.waitUntilFinished(qe);
    await until(() => ran.length === 2);
    await until(async () => (await q.getCompletedCount()) === 2);
    expect(ran).toEqual([1, 3]);
    const done = await q.getCompleted();
    const next = done.find((j) => j.id !== a.id)!;
    expect(next.data).toEqual({ v: 3 });
    expect(next.id).toBe('3');
    // A waiting holder (nothing active) deduplicates as usual, nothing is kept for later.
    const d1 = await q.add('z', { v: 4 }, { deduplication: { id: 'z', keepLastIfActive: true }, delay: 60_000 });
    const d2 = await q.add('z', { v: 5 }, { deduplication: { id: 'z', keepLastIfActive: true } });
    expect(d2.id).toBe(d1.id);
    expect(await q.getDelayedCount()).toBe(1);
    expect(await q.getWaitingCount()).toBe(0);
  });

  it('deduplication.reschedule moves a delayed holder to the new delay', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const a = await q.add('x', { v: 1 }, { delay: 60_000, deduplication: { id: 's', reschedule: true } });
    const b = await q.add('x', { v: 2 }, { delay: 100, deduplication: { id: 's', reschedule: true } });
    expect(b.id).toBe(a.id);
    const stored = (await q.getJob(a.id!))!;
    expect(stored.delay).toBe(100);
    expect(stored.data).toEqual({ v: 1 });
    t.worker(name, async (job) => (job.data as { v: number }).v);
    expect(await a.waitUntilFinished(qe)).toBe(1);
  });

  it('lists live workers and queue-event listeners, and drops closed ones', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    expect(await q.getWorkers()).toEqual([]);
    const w1 = t.worker(name, async () => 'ok');
    const w2 = t.worker(name, async () => 'ok', { name: 'mailer' });
    await w1.waitUntilReady();
    await w2.waitUntilReady();
    await t.events(name);
    await until(async () => (await q.getWorkersCount()) === 2);
    const workers = await q.getWorkers();
    expect(workers.map((w) => w['name'])).toEqual([name, name]);
    for (const w of workers) {
      expect(w['id']).toMatch(/^\d+$/);
      expect(w['addr']).toMatch(/:\d+$/);
      expect(Number(w['age'])).toBeGreaterThanOrEqual(0);
    }
    expect(workers.filter((w) => w['rawname']!.endsWith(':w:mailer'))).toHaveLength(1);
    await until(async () => (await q.getQueueEvents()).length === 1);
    expect((await q.getQueueEvents())[0]!['name']).toBe(name);
    // Another queue's clients are not this queue's.
    expect(await t.queue(t.fresh()).getWorkersCount()).toBe(0);
    await w2.close();
    await until(async () => (await q.getWorkersCount()) === 1);
    expect((await q.getWorkers())[0]!['rawname']!.endsWith(':w:mailer')).toBe(false);
  });

  it("pages a parent's pending, processed and ignored children with Queue.getDependencies", async () => {
    const parentQ = t.fresh();
    const childQ = t.fresh();
    const q = t.queue(parentQ);
    const flow = t.flow();
    const tree = await flow.add({
      name: 'parent',
      queueName: parentQ,
      children: [
        { name: 'a', queueName: childQ, data: { n: 1 } },
        { name: 'b', queueName: childQ, data: { n: 2 } },
        { name: 'c', queueName: childQ, data: { n: 3 } },
        { name: 'bad', queueName: childQ, data: { n: 0 }, opts: { ignoreDependencyOnFailure: true } },
      ],
    });
    const pid = tree.job.id!;
    const pending = await q.getDependencies(pid, 'pending', 0, -1);
    expect(pending.total).toBe(4);
    expect(pending.items).toHaveLength(4);
    expect(pending.jobs.map((j) => j.name).sort()).toEqual(['a', 'b', 'bad', 'c']);
    for (const i of pending.items) expect(i.id).toMatch(new RegExp(`${childQ}:[^:]+$`));
    const two = await q.getDependencies(pid, 'pending', 0, 1);
    expect(two.items).toHaveLength(2);
    expect(two.total).toBe(4);
    t.worker(childQ, async (job) => {
      const n = (job.data as { n: number }).n;
      if (n === 0) throw new Error('bad child');
      return { n };
    });
    await until(async () => (await q.getDependencies(pid, 'processed', 0, -1)).total === 3);
    const processed = await q.getDependencies(pid, 'processed', 0, -1);
    expect(processed.items.map((i) => (i as { v: { n: number } }).v.n).sort()).toEqual([1, 2, 3]);
    expect(processed.jobs).toHaveLength(3);
    await until(async () => (await q.getDependencies(pid, 'pending', 0, -1)).total === 0);
    expect((await tree.job.getDependenciesCount()).ignored).toBe(1);
    // The ignored failures hash pages too; a plain-text reason is not JSON, so it comes as `err`.
    const backend = q.backend;
    const ignored = await backend.paginate(q.toKey(`${pid}:failed`), { start: 0, end: -1 });
    expect(ignored.total).toBe(1);
    expect(ignored.items[0]!.id).toMatch(new RegExp(`${childQ}:[^:]+$`));
    expect(typeof ignored.items[0]!.err).toBe('string');
  });

  it('runs a sandboxed processor file in a child process', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    t.worker(name, fileURLToPath(new URL('./fixtures/sandboxed.cjs', import.meta.url)));
    const ok = await q.add('x', { n: 21 });
    const result = (await ok.waitUntilFinished(qe)) as { n: number; pid: number };
    expect(result.n).toBe(42);
    expect(result.pid).not.toBe(process.pid);
    const stored = (await q.getJob(ok.id!))!;
    expect(stored.progress).toBe(42);
    expect((await q.getJobLogs(ok.id!)).logs).toEqual(['from the child']);
    const bad = await q.add('x', { fail: true });
    await expect(bad.waitUntilFinished(qe)).rejects.toThrow('child failed');
  });

  it('enforces global concurrency across workers', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    await q.setGlobalConcurrency(1);
    let running = 0;
    let peak = 0;
    const body = async (): Promise<void> => {
      running++;
      peak = Math.max(peak, running);
      await sleep(30);
      running--;
    };
    t.worker(name, body, { concurrency: 3 });
    t.worker(name, body, { concurrency: 3 });
    for (let i = 0; i < 4; i++) await q.add('x', {});
    await until(async () => (await q.getCompletedCount()) === 4);
    expect(peak).toBe(1);
  });

  it('rate-limits with the worker limiter', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const starts: number[] = [];
    t.worker(name, async () => {
      starts.push(Date.now());
    }, { limiter: { max: 2, duration: 300 } });
    for (let i = 0; i < 4; i++) await q.add('x', {});
    await until(() => starts.length === 4, 5000);
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(250);
  });

  it('recovers a stalled job whose lock lapsed and runs it again', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const stalled: string[] = [];
    qe.on('stalled', ({ jobId }) => stalled.push(jobId));
    const job = await q.add('x', {});
    // Claim it by hand with a short lock and never renew it: a worker that died.
    const dead = t.worker(name, async () => undefined, { autorun: false, lockDuration: 200 });
    const claimed = await dead.getNextJob('dead-token');
    expect(claimed!.id).toBe(job.id);
    const w = t.worker(name, async () => 'second life', { stalledInterval: 100, lockDuration: 1000 });
    await w.waitUntilReady();
    expect(await job.waitUntilFinished(qe)).toBe('second life');
    expect(stalled).toEqual([job.id]);
    expect((await q.getJob(job.id!))!.stalledCounter).toBe(1);
  });

  it('retries a failed attempt at the back of the wait line, only with the lock token that holds it', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const a = await q.add('a', {}, { attempts: 2 });
    const b = await q.add('b', {}, { attempts: 2 });
    const w = t.worker(name, async () => undefined, { autorun: false });
    const claimed = (await w.getNextJob('tok-a'))!;
    expect(claimed.id).toBe(a.id);
    // A wrong token is refused and leaves the job active, its attempt uncounted.
    await expect(claimed.moveToFailed(new Error('first'), 'not-the-token')).rejects.toThrow('Lock mismatch');
    expect(await (await q.getJob(a.id!))!.getState()).toBe('active');
    await claimed.moveToFailed(new Error('first'), 'tok-a');
    const retried = (await q.getJob(a.id!))!;
    expect(await retried.getState()).toBe('waiting');
    expect(retried.attemptsMade).toBe(1);
    expect(retried.failedReason).toBe('first');
    // BullMQ's Job appends to its stack trace list before the backend call, so the refused
    // call's trace is stored too.
    expect(retried.stacktrace).toHaveLength(2);
    // Not lifo: behind b, which was added after it but waited meanwhile.
    expect((await w.getNextJob('tok-b'))!.id).toBe(b.id);
    const again = (await w.getNextJob('tok-a2'))!;
    expect(again.id).toBe(a.id);
    expect(again.attemptsMade).toBe(1);
    expect(again.failedReason).toBe('first');
    expect(again.stacktrace).toHaveLength(2);
    // The retried attempt's token is spent: only the new claim's token finishes it.
    await expect(again.moveToCompleted('ok', 'tok-a', false)).rejects.toThrow('Lock mismatch');
    await again.moveToCompleted('ok', 'tok-a2', false);
    expect((await q.getJob(a.id!))!.returnvalue).toBe('ok');
  });

  it('runs job schedulers with every and keeps one pending iteration', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const runs: number[] = [];
    t.worker(name, async (job) => {
      runs.push((job.data as { n: number }).n);
    });
    await q.upsertJobScheduler('tick', { every: 150 }, { name: 'tick', data: { n: 1 } });
    await until(() => runs.length >= 3, 5000);
    expect(runs.every((n) => n === 1)).toBe(true);
    const scheds = await q.getJobSchedulers();
    expect(scheds.map((s) => [s.key, s.every])).toEqual([['tick', 150]]);
    expect(await q.getJobSchedulersCount()).toBe(1);
    expect(await q.removeJobScheduler('tick')).toBe(true);
    expect(await q.getJobSchedulersCount()).toBe(0);
  });

  it('schedules cron patterns through cron-parser', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const job = await q.upsertJobScheduler('nightly', { pattern: '0 3 * * *', tz: 'UTC' }, { name: 'n' });
    expect(await job!.getState()).toBe('delayed');
    const s = (await q.getJobScheduler('nightly'))!;
    expect(s.pattern).toBe('0 3 * * *');
    expect(new Date(s.next!).getUTCHours()).toBe(3);
    expect(await q.getDelayedCount()).toBe(1);
  });

  it('collects per-minute metrics when the worker asks for them', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    t.worker(name, async () => undefined, { metrics: { maxDataPoints: 10 } });
    for (let i = 0; i < 3; i++) await q.add('x', {});
    await until(async () => (await q.getCompletedCount()) === 3);
    const m = await q.getMetrics('completed');
    expect(m.meta.count).toBe(3);
  });

  it('runs a flow: children first (across queues), then the parent with their results', async () => {
    const parentQ = t.fresh();
    const childQ = t.fresh();
    const q = t.queue(parentQ);
    const cq = t.queue(childQ);
    const qe = await t.events(parentQ);
    const order: string[] = [];
    t.worker(childQ, async (job) => {
      order.push(job.name);
      return (job.data as { n: number }).n * 10;
    });
    t.worker(parentQ, async (job) => {
      order.push(job.name);
      if (job.name === 'parent') {
        const values = await job.getChildrenValues();
        return Object.values(values as Record<string, number>).sort((a, b) => a - b);
      }
      return (job.data as { n: number }).n;
    });
    const tree = await t.flow().add({
      name: 'parent',
      queueName: parentQ,
      data: {},
      children: [
        { name: 'c1', queueName: childQ, data: { n: 1 } },
        { name: 'c2', queueName: childQ, data: { n: 2 } },
        { name: 'same', queueName: parentQ, data: { n: 3 } },
      ],
    });
    expect(tree.children).toHaveLength(3);
    expect(await tree.job.waitUntilFinished(qe)).toEqual([3, 10, 20]);
    expect(order[order.length - 1]).toBe('parent');
    const parent = (await q.getJob(tree.job.id!))!;
    expect(await parent.getDependenciesCount()).toEqual({ processed: 3, unprocessed: 0, ignored: 0, failed: 0 });
    const child = (await cq.getJob(tree.children![0]!.job.id!))!;
    expect(child.parent?.id).toBe(tree.job.id);
  });

  it('keeps a parent waiting for its children, and fails it when a failParentOnFailure child fails', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const tree = await t.flow().add({
      name: 'parent',
      queueName: name,
      data: {},
      children: [{ name: 'bad', queueName: name, data: {}, opts: { failParentOnFailure: true } }, { name: 'good', queueName: name, data: {} }],
    });
    expect(await tree.job.getState()).toBe('waiting-children');
    expect(await q.getJobCounts('waiting-children')).toEqual({ 'waiting-children': 1 });
    t.worker(name, async (job) => {
      if (job.name === 'bad') throw new Error('child broke');
      return 'ok';
    });
    await expect(tree.job.waitUntilFinished(qe)).rejects.toThrow(/child .* failed/);
    const parent = (await q.getJob(tree.job.id!))!;
    expect(await parent.getState()).toBe('failed');
    expect((await parent.getDependenciesCount()).failed).toBe(1);
  });

  it('lets a parent go on when an ignoreDependencyOnFailure child fails', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    t.worker(name, async (job) => {
      if (job.name === 'flaky') throw new Error('ignored failure');
      return job.name;
    });
    const tree = await t.flow().add({
      name: 'parent',
      queueName: name,
      data: {},
      children: [{ name: 'flaky', queueName: name, data: {}, opts: { ignoreDependencyOnFailure: true } }],
    });
    expect(await tree.job.waitUntilFinished(qe)).toBe('parent');
    const parent = (await q.getJob(tree.job.id!))!;
    expect(Object.values(await parent.getIgnoredChildrenFailures())).toEqual(['ignored failure']);
  });

  it('applies a global rate limit set on the queue, and a manual one from the processor', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    await q.setGlobalRateLimit(1, 200);
    const starts: number[] = [];
    t.worker(name, async () => {
      starts.push(Date.now());
    });
    for (let i = 0; i < 3; i++) await q.add('x', {});
    await until(() => starts.length === 3, 5000);
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(350);
    await q.removeGlobalRateLimit();

    const other = t.fresh();
    const q2 = t.queue(other);
    let first = true;
    const runs: number[] = [];
    const w = t.worker(other, async () => {
      runs.push(Date.now());
      if (first) {
        first = false;
        await w.rateLimit(150);
        throw Worker.RateLimitError();
      }
    });
    const job = await q2.add('y', {});
    await until(() => runs.length === 2, 5000);
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(140);
    await until(async () => (await job.getState()) === 'completed');
    expect((await q2.getJob(job.id!))!.attemptsMade).toBe(1);
  });

  it('promotes all delayed jobs at once', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    for (let i = 0; i < 3; i++) await q.add('d', {}, { delay: 60_000 });
    await q.promoteJobs();
    expect(await q.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 3 });
  });

  it('stops a scheduler after its limit', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    let runs = 0;
    t.worker(name, async () => {
      runs++;
    });
    await q.upsertJobScheduler('twice', { every: 80, limit: 2 }, { name: 'n' });
    await until(() => runs === 2, 5000);
    await sleep(300);
    expect(runs).toBe(2);
  });

  it('lets a running parent add children and wait for them (moveToWaitingChildren)', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const w = t.worker(name, async (job, token) => {
      if (job.name === 'child') return (job.data as { n: number }).n;
      const step = (job.data as { step?: string }).step ?? 'start';
      if (step === 'start') {
        for (const n of [1, 2]) await q.add('child', { n }, { parent: { id: job.id!, queue: job.queueQualifiedName } });
        await job.updateData({ step: 'wait' });
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      const values = Object.values((await job.getChildrenValues()) as Record<string, number>);
      return values.sort().join('+');
    });
    void w;
    const parent = await q.add('parent', {});
    expect(await parent.waitUntilFinished(qe)).toBe('1+2');
  });

  it('renews the lock of a long job, so it is not taken for stalled', async () => {
    const name = t.fresh();
    const q = t.queue(name);
    const qe = await t.events(name);
    const stalled: string[] = [];
    qe.on('stalled', ({ jobId }) => stalled.push(jobId));
    let runs = 0;
    t.worker(name, async () => {
      runs++;
      await sleep(2500);
      return 'long';
      // The lock is renewed at half its duration: 500 ms of slack keeps a loaded CI machine (a
      // test process stalled by its neighbours) from letting it lapse, on Redis as on ours.
    }, { lockDuration: 1000, stalledInterval: 250 });
    const job = await q.add('slow', {});
    expect(await job.waitUntilFinished(qe)).toBe('long');
    expect(runs).toBe(1);
    expect(stalled).toEqual([]);
  });
}

