import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Bull from 'bull';
import { Queue as FacadeQueue } from '../../src/jobs-bull.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { UnsupportedOperationError } from '../../src/queue/errors.js';
import { fileURLToPath } from 'node:url';
import { sleep, until } from './targets.js';

const fixture = (file: string): string => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));

/**
 * The shared surface of Bull 4 and the facade, as these scenarios use it. Run against the
 * facade always and against real `bull` on Redis when RAILYARD_REDIS_URL is set.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyQueue = {
  add(...args: any[]): Promise<any>;
  process(...args: any[]): Promise<void>;
  on(event: string, fn: (...args: any[]) => void): unknown;
  getJobCounts(): Promise<Record<string, number>>;
  getJob(id: any): Promise<any>;
  pause(isLocal?: boolean, doNotWaitActive?: boolean): Promise<void>;
  resume(isLocal?: boolean): Promise<void>;
  isPaused(isLocal?: boolean): Promise<boolean>;
  clean(grace: number, status?: any, limit?: number): Promise<any[]>;
  empty(): Promise<void>;
  whenCurrentJobsFinished(): Promise<void>;
  getRepeatableJobs(): Promise<any[]>;
  removeRepeatableByKey(key: string): Promise<void>;
  getMetrics(type: 'completed' | 'failed'): Promise<{ meta: { count: number } }>;
  getCompletedCount(): Promise<number>;
  getNextJob(): Promise<any>;
  removeJobs(pattern: string): Promise<void>;
  getWorkers(): Promise<Record<string, string>[]>;
  close(): Promise<void>;
};

interface BullTarget {
  name: string;
  queue(opts?: Record<string, unknown>): AnyQueue;
  cleanup(): Promise<void>;
}

function facadeTarget(): BullTarget {
  const dataDir = mkdtempSync(join(tmpdir(), 'railyard-bull-'));
  const open: AnyQueue[] = [];
  return {
    name: 'facade',
    queue(opts = {}) {
      const q = new FacadeQueue(`b${randomUUID().slice(0, 8)}`, { ...opts, dataDir }) as unknown as AnyQueue;
      open.push(q);
      return q;
    },
    async cleanup() {
      for (const q of open.splice(0)) await q.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function redisTarget(url: string): BullTarget {
  const open: AnyQueue[] = [];
  return {
    name: 'bull on redis',
    queue(opts = {}) {
      const q = new Bull(`b${randomUUID().slice(0, 8)}`, url, opts) as unknown as AnyQueue;
      open.push(q);
      return q;
    },
    async cleanup() {
      for (const q of open.splice(0)) await q.close();
    },
  };
}

const list: { name: string; make: () => BullTarget }[] = [{ name: 'facade', make: facadeTarget }];
if (process.env['RAILYARD_REDIS_URL']) list.push({ name: 'bull on redis', make: () => redisTarget(process.env['RAILYARD_REDIS_URL']!) });

describe.each(list)('Bull 4 API on $name', ({ make }) => {
  let t: BullTarget;
  beforeEach(() => {
    t = make();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('processes with a promise handler; finished() resolves with the result and completed fires', async () => {
    const q = t.queue();
    const completed: unknown[] = [];
    q.on('completed', (job: any, result: unknown) => completed.push([job.data.x, result]));
    void q.process(async (job: any) => job.data.x * 2);
    const job = await q.add({ x: 4 });
    expect(job.name).toBe('__default__');
    expect(await job.finished()).toBe(8);
    await until(() => completed.length === 1);
    expect(completed).toEqual([[4, 8]]);
    const counts = await q.getJobCounts();
    expect(counts).toMatchObject({ waiting: 0, active: 0, completed: 1, failed: 0, delayed: 0 });
  });

  it('processes with a done callback, fails with done(err), and retries with backoff', async () => {
    const q = t.queue();
    let calls = 0;
    void q.process((job: any, done: (err?: Error | null, v?: unknown) => void) => {
      calls++;
      if (job.data.mode === 'ok') done(null, 'fine');
      else if (job.attemptsMade < 1) done(new Error('once'));
      else if (job.data.mode === 'flaky') done(null, 'second time');
      else done(new Error('never'));
    });
    const ok = await q.add({ mode: 'ok' });
    expect(await ok.finished()).toBe('fine');
    const flaky = await q.add({ mode: 'flaky' }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    expect(await flaky.finished()).toBe('second time');
    const bad = await q.add({ mode: 'bad' }, { attempts: 2, backoff: 10 });
    await expect(bad.finished()).rejects.toThrow('never');
    const stored = await q.getJob(bad.id);
    expect(stored.failedReason).toBe('never');
    expect(stored.attemptsMade).toBe(2);
    expect(calls).toBe(5);
  });

  it('routes named jobs to named processors and fails jobs without one', async () => {
    const q = t.queue();
    const seen: string[] = [];
    void q.process('email', 2, async (job: any) => {
      seen.push(`email:${job.data.to}`);
    });
    void q.process('sms', async (job: any) => {
      seen.push(`sms:${job.data.to}`);
    });
    const a = await q.add('email', { to: 'a' });
    const b = await q.add('sms', { to: 'b' });
    await a.finished();
    await b.finished();
    expect(seen.sort()).toEqual(['email:a', 'sms:b']);
    const c = await q.add('fax', { to: 'c' });
    await expect(c.finished()).rejects.toThrow('Missing process handler for job type fax');
  });

  it('reports progress: job.progress(n) in the handler, global:progress outside, progress() reads it', async () => {
    const q = t.queue();
    const global: unknown[] = [];
    q.on('global:progress', (jobId: string, p: unknown) => global.push([String(jobId), p]));
    await sleep(100);
    void q.process(async (job: any) => {
      await job.progress(40);
      await job.progress(80);
      return job.progress();
    });
    const job = await q.add({});
    expect(await job.finished()).toBe(80);
    await until(() => global.length === 2);
    expect(global).toEqual([
      [String(job.id), 40],
      [String(job.id), 80],
    ]);
    expect((await q.getJob(job.id)).progress()).toBe(80);
  });

  it('emits global:completed with the stored result and global:failed with the reason', async () => {
    const q = t.queue();
    const got: unknown[] = [];
    q.on('global:completed', (jobId: string, result: string) => got.push(['completed', String(jobId), result]));
    q.on('global:failed', (jobId: string, reason: string) => got.push(['failed', String(jobId), reason]));
    await sleep(100);
    void q.process(async (job: any) => {
      if (job.data.fail) throw new Error('bad luck');
      return { ok: true };
    });
    const a = await q.add({});
    const b = await q.add({ fail: true });
    await a.finished();
    await expect(b.finished()).rejects.toThrow('bad luck');
    await until(() => got.length === 2);
    expect(got).toContainEqual(['completed', String(a.id), '{"ok":true}']);
    expect(got).toContainEqual(['failed', String(b.id), 'bad luck']);
  });

  it('counts jobs of a paused queue as paused, and runs them after resume', async () => {
    const q = t.queue();
    await q.pause();
    expect(await q.isPaused()).toBe(true);
    let ran = 0;
    void q.process(async () => {
      ran++;
    });
    await q.add({});
    await q.add({}, { priority: 2 });
    await sleep(150);
    expect(ran).toBe(0);
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, paused: 2 });
    await q.resume();
    // `ran` counts handler starts; a job counts as completed only once its completion commits.
    await until(async () => ran === 2 && (await q.getJobCounts()).completed === 2);
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, paused: 0, completed: 2 });
  });

  it('cleans completed jobs, empties waiting and delayed ones', async () => {
    const q = t.queue();
    void q.process(async () => 'x');
    const a = await q.add({});
    await a.finished();
    await sleep(5);
    const cleaned = await q.clean(0, 'completed');
    expect(cleaned.map(String)).toEqual([String(a.id)]);
    expect(await q.getCompletedCount()).toBe(0);
    await q.pause(true);
    await q.add({}, { delay: 60_000 });
    await q.add({});
    await q.empty();
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0 });
  });

  it('whenCurrentJobsFinished waits for the running jobs', async () => {
    const q = t.queue();
    let finished = 0;
    void q.process(2, async () => {
      await sleep(100);
      finished++;
    });
    await q.add({});
    await q.add({});
    await until(async () => (await q.getJobCounts()).active === 2);
    await q.whenCurrentJobsFinished();
    expect(finished).toBe(2);
  });

  it('repeats jobs every n ms and lists and removes the repeatable', async () => {
    const q = t.queue();
    let runs = 0;
    void q.process('tick', async () => {
      runs++;
    });
    await q.add('tick', { v: 1 }, { repeat: { every: 120 } });
    await until(() => runs >= 2, 5000);
    const reps = await q.getRepeatableJobs();
    expect(reps).toHaveLength(1);
    expect(reps[0].name).toBe('tick');
    expect(reps[0].every).toBe(120);
    await q.removeRepeatableByKey(reps[0].key);
    expect(await q.getRepeatableJobs()).toHaveLength(0);
  });

  it('collects metrics when the queue asks for them', async () => {
    const q = t.queue({ metrics: { maxDataPoints: 5 } });
    void q.process(async () => undefined);
    const a = await q.add({});
    await a.finished();
    await until(async () => (await q.getMetrics('completed')).meta.count === 1);
  });

  it('serves lower priority numbers first and holds delayed jobs', async () => {
    const q = t.queue();
    await q.add({ n: 'low' }, { priority: 5 });
    await q.add({ n: 'high' }, { priority: 1 });
    const d = await q.add({ n: 'later' }, { delay: 200 });
    const order: string[] = [];
    void q.process(async (job: any) => {
      order.push(job.data.n);
    });
    await d.finished();
    expect(order).toEqual(['high', 'low', 'later']);
    const done = await q.getJob(d.id);
    expect(done.processedOn - done.timestamp).toBeGreaterThanOrEqual(200);
  });
  it('adds in bulk, updates, logs, retries a failed job and removes jobs', async () => {
    const q = t.queue() as AnyQueue & {
      addBulk(jobs: { name?: string; data: unknown; opts?: unknown }[]): Promise<any[]>;
      getJobLogs(id: any): Promise<{ logs: string[]; count: number }>;
      getWaiting(): Promise<any[]>;
      getFailed(): Promise<any[]>;
    };
    const added = await q.addBulk([{ data: { n: 1 } }, { name: 'named', data: { n: 2 } }]);
    expect(added.map((j: any) => j.name)).toEqual(['__default__', 'named']);
    expect((await q.getWaiting()).map((j: any) => j.data.n)).toEqual([1, 2]);
    await added[0].update({ n: 10 });
    await added[0].log('hello');
    expect((await q.getJob(added[0].id)).data).toEqual({ n: 10 });
    expect(await q.getJobLogs(added[0].id)).toEqual({ logs: ['hello'], count: 1 });
    const removed: string[] = [];
    q.on('removed', (job: any) => removed.push(String(job.id)));
    await added[1].remove();
    expect(await q.getJob(added[1].id)).toBeNull();
    expect(removed).toEqual([String(added[1].id)]);

    let fail = true;
    void q.process('*', async () => {
      if (fail) throw new Error('first');
      return 'second';
    });
    await expect(added[0].finished()).rejects.toThrow('first');
    expect((await q.getFailed()).map((j: any) => String(j.id))).toEqual([String(added[0].id)]);
    fail = false;
    const again = await q.getJob(added[0].id);
    await again.retry();
    await until(async () => (await q.getJob(added[0].id)).finishedOn !== undefined && (await (await q.getJob(added[0].id)).getState()) === 'completed');
    expect((await q.getJob(added[0].id)).returnvalue).toBe('second');
  });

  it('process() settles only when the queue closes, as in Bull', async () => {
    const q = t.queue();
    let settled = false;
    const running = q.process(async () => 1).then(() => {
      settled = true;
    });
    const job = await q.add({});
    await job.finished();
    await sleep(50);
    expect(settled).toBe(false);
    await q.close();
    await running;
    expect(settled).toBe(true);
  });

  it('processes by hand: getNextJob, moveToCompleted fetching the next, moveToFailed retrying then failing', async () => {
    const q = t.queue({ settings: { drainDelay: 1 } });
    const a = await q.add({ n: 1 });
    const b = await q.add({ n: 2 }, { attempts: 2 });
    const job = await q.getNextJob();
    expect(String(job.id)).toBe(String(a.id));
    expect(job.data).toEqual({ n: 1 });
    expect(await job.getState()).toBe('active');
    // A job locked by this queue cannot be locked again; the lock can be extended.
    expect(await job.takeLock()).toBe(false);
    expect(await job.extendLock(60_000)).toBe(1);
    const next = await job.moveToCompleted('done');
    expect(String(next[1])).toBe(String(b.id));
    const doneA = await q.getJob(a.id);
    expect(await doneA.getState()).toBe('completed');
    expect(doneA.returnvalue).toBe('done');
    expect(await (await q.getJob(b.id)).getState()).toBe('active');
    await (await q.getJob(b.id)).moveToFailed({ message: 'nope' }, true);
    expect(await (await q.getJob(b.id)).getState()).toBe('waiting');
    const again = await q.getNextJob();
    expect(String(again.id)).toBe(String(b.id));
    await again.moveToFailed({ message: 'nope again' });
    const failed = await q.getJob(b.id);
    expect(await failed.getState()).toBe('failed');
    expect(failed.failedReason).toBe('nope again');
    expect(failed.attemptsMade).toBe(2);
    const c = await q.add({ n: 3 });
    const last = await q.getNextJob();
    expect(await last.moveToCompleted(3, false, true)).toBe(0);
    expect((await q.getJob(c.id)).returnvalue).toBe(3);
    expect(await q.getNextJob()).toBeFalsy();
  });

  it('takes and releases job locks by hand', async () => {
    const q = t.queue();
    const added = await q.add({});
    const job = await q.getJob(added.id);
    expect(await job.takeLock()).toBe(1);
    expect(await job.takeLock()).toBe(false);
    await job.releaseLock();
    expect(await job.extendLock(1000)).toBe(0);
    await expect(job.releaseLock()).rejects.toThrow(`Could not release lock for job ${job.id}`);
    expect(await job.takeLock()).toBe(1);
    await job.releaseLock();
  });

  it('removes the jobs whose id matches a glob pattern', async () => {
    const q = t.queue();
    const ids = ['user-1', 'user-2', 'user-10', 'order-1', 'user-x'];
    for (const id of ids) await q.add({ id }, { jobId: id, ...(id === 'user-x' ? { delay: 60_000 } : {}) });
    await q.removeJobs('user-?');
    const left = async (): Promise<boolean[]> => Promise.all(ids.map(async (id) => (await q.getJob(id)) !== null));
    expect(await left()).toEqual([false, false, true, true, false]);
    await q.removeJobs('[ou]*-1*');
    expect(await left()).toEqual([false, false, false, false, false]);
  });

  it('lists the processing workers', async () => {
    const q = t.queue();
    void q.process(async () => 'ok');
    await q.add({});
    await until(async () => (await q.getWorkers()).length > 0);
    const [w] = await q.getWorkers();
    expect(typeof w!['addr']).toBe('string');
    expect(w!['name']).toBe((q as unknown as { name: string }).name);
  });

  it('runs processor files in child processes (sandboxed), promise and done styles', async () => {
    const q = t.queue() as AnyQueue & { getJobLogs(id: any): Promise<{ logs: string[] }> };
    void q.process('p', 2, fixture('bull-processor.cjs'));
    void q.process('d', fixture('bull-processor-done.cjs'));
    void q.process('e', fixture('bull-processor-echo.cjs'));
    const a = await q.add('p', { n: 21 });
    const r = await a.finished();
    expect(r.double).toBe(42);
    expect(r.pid).not.toBe(process.pid);
    expect((await q.getJob(a.id)).progress()).toBe(30);
    expect((await q.getJobLogs(a.id)).logs).toEqual(['child log']);
    const b = await q.add('d', { n: 1 });
    expect(await b.finished()).toBe(2);
    const c = await q.add('p', { fail: true }, { attempts: 2 });
    await expect(c.finished()).rejects.toThrow('child failed');
    expect((await q.getJob(c.id)).attemptsMade).toBe(2);
    const d = await q.add('p', { discard: true }, { attempts: 3 });
    await expect(d.finished()).rejects.toThrow('discarded');
    expect((await q.getJob(d.id)).attemptsMade).toBe(1);
    const e = await q.add('e', { a: 1 }, { preventParsingData: true });
    expect(await e.finished()).toEqual({ data: '{"a":1}' });
  });

  it('rate-limits each limiter.groupKey group on its own', async () => {
    const q = t.queue({ limiter: { max: 1, duration: 400, groupKey: 'customer' } });
    const starts: Record<string, number[]> = { a: [], b: [] };
    void q.process(4, async (job: any) => {
      starts[job.data.customer as string]!.push(Date.now());
    });
    for (const customer of ['a', 'a', 'b', 'b']) await q.add({ customer });
    await until(() => starts['a']!.length === 2 && starts['b']!.length === 2, 5000);
    // One job per group per 400 ms; the groups do not wait for each other.
    expect(starts['a']![1]! - starts['a']![0]!).toBeGreaterThanOrEqual(300);
    expect(starts['b']![1]! - starts['b']![0]!).toBeGreaterThanOrEqual(300);
    expect(Math.abs(starts['a']![0]! - starts['b']![0]!)).toBeLessThan(300);
    expect(await q.getCompletedCount()).toBe(4);
  });

  it('takes integer custom job ids, and an add with an existing id finds that job', async () => {
    const q = t.queue();
    const a = await q.add({ v: 1 }, { jobId: 42 });
    expect(String(a.id)).toBe('42');
    const b = await q.add({ v: 2 }, { jobId: '42' });
    expect(String(b.id)).toBe('42');
    expect((await q.getJob(42)).data).toEqual({ v: 1 });
    expect((await q.getJobCounts())['waiting']).toBe(1);
    const auto = await q.add({ v: 3 });
    expect(String(auto.id)).toMatch(/^\d+$/);
  });

  it('preventParsingData: jobs read back keep data as its JSON text', async () => {
    const q = t.queue();
    const seen: unknown[] = [];
    void q.process(async (job: any) => {
      seen.push(job.data);
    });
    const added = await q.add({ a: 1 }, { preventParsingData: true });
    expect(added.data).toEqual({ a: 1 });
    await added.finished();
    expect(seen).toEqual(['{"a":1}']);
    expect((await q.getJob(added.id)).data).toBe('{"a":1}');
    const plain = await q.add({ b: 2 });
    await plain.finished();
    expect((await q.getJob(plain.id)).data).toEqual({ b: 2 });
  });

  it('fails a job that runs past its timeout', async () => {
    const q = t.queue();
    void q.process(async () => {
      await sleep(300);
      return 'late';
    });
    const job = await q.add({}, { timeout: 50 });
    await expect(job.finished()).rejects.toThrow('Promise timed out after 50 milliseconds');
  });
});

describe('Bull facade input checks', () => {
  let dataDir: string;
  let q: FacadeQueue;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-bull-bad-'));
    q = new FacadeQueue('bad', { dataDir, settings: { backoffStrategies: { jitter: () => 5 } } });
  });
  afterEach(async () => {
    await q.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses bad options with a typed error naming the option, and stores nothing', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => q.add({}, { delay: -1 }), 'opts.delay'],
      [() => q.add({}, { backoff: { type: 'nope', delay: 1 } }), 'opts.backoff.type'],
      [() => q.add({}, { attempts: 0 }), 'opts.attempts'],
      [() => q.add({}, { repeat: { cron: 'every tuesday' } }), 'opts.repeat.cron'],
      [() => q.add({}, { repeat: { every: -5 } }), 'opts.repeat.every'],
      [() => q.add({ n: 1n }), 'data'],
      [() => q.add({}, { jobId: 4.2 }), 'opts.jobId'],
    ];
    for (const [call, argument] of cases) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toBe(argument);
    }
    await q.add({}, { backoff: { type: 'jitter' } });
    expect(await q.getJobCounts()).toMatchObject({ waiting: 1 });
  });

  it('refuses a missing processor file, and mixing files with functions on one queue', async () => {
    const missing = (() => {
      try {
        void q.process('/nonexistent/processor.js');
      } catch (e) {
        return e;
      }
    })();
    expect(missing).toBeInstanceOf(InvalidArgumentError);
    expect((missing as InvalidArgumentError).argument).toBe('handler');
    void q.process('a', async () => 1);
    expect(() => void q.process('b', fixture('bull-processor.cjs'))).toThrow(InvalidArgumentError);
  });

  it('refuses a bad limiter when the queue is made, and processor files with a groupKey', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ max: 0, duration: 100 }, 'limiter.max'],
      [{ max: 1, duration: -1 }, 'limiter.duration'],
      [{ max: 1, duration: 100, groupKey: '' }, 'limiter.groupKey'],
    ];
    for (const [limiter, argument] of cases) {
      const err = (() => {
        try {
          new FacadeQueue('lim', { dataDir, limiter: limiter as { max: number; duration: number } });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toBe(argument);
    }
    expect(() => new FacadeQueue('bounce', { dataDir, limiter: { max: 1, duration: 100, bounceBack: true } })).toThrow(UnsupportedOperationError);
    const grouped = new FacadeQueue('grouped', { dataDir, limiter: { max: 1, duration: 100, groupKey: 'g' } });
    expect(() => void grouped.process(fixture('bull-processor.cjs'))).toThrow(InvalidArgumentError);
    await grouped.close();
  });

  it('refuses a foreign SQLite file in the data dir', async () => {
    const { default: Database } = await import('better-sqlite3');
    const dir = mkdtempSync(join(tmpdir(), 'railyard-foreign-'));
    const db = new Database(join(dir, 'railyard.db'));
    db.exec('CREATE TABLE theirs (x)');
    db.close();
    expect(() => new FacadeQueue('f', { dataDir: dir })).toThrow(/does not belong to Railyard/);
    rmSync(dir, { recursive: true, force: true });
  });
});
