// The JobRepository contract directly (what Agenda's backends must provide), on SQLite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobParameters } from 'agenda';
import { RailyardAgendaBackend } from '../../src/agenda.js';

let dir: string;
let backends: RailyardAgendaBackend[];
const open = async (): Promise<RailyardAgendaBackend> => {
  const b = new RailyardAgendaBackend({ dataDir: dir });
  await b.connect();
  backends.push(b);
  return b;
};
const job = (over: Partial<JobParameters> = {}): JobParameters => ({
  name: 'j', priority: 0, nextRunAt: new Date(Date.now() - 1000), type: 'normal', data: {}, ...over,
});
const scan = (): [Date, Date, Date] => {
  const now = new Date();
  return [new Date(now.getTime() + 5000), new Date(now.getTime() - 600_000), now];
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ry-agenda-repo-'));
  backends = [];
});
afterEach(async () => {
  for (const b of backends) await b.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteJobRepository', () => {
  it('assigns ids, updates by id, keeps dates, data and the disabled flag', async () => {
    const { repository: r } = await open();
    const at = new Date('2026-06-01T10:00:00.123Z');
    const saved = await r.saveJob(job({ priority: 10, nextRunAt: at, data: { foo: 'bar', n: [1, 2] }, disabled: true, repeatInterval: 60_000 }), undefined);
    expect(saved._id).toBeTypeOf('string');
    expect(saved).toMatchObject({ priority: 10, nextRunAt: at, data: { foo: 'bar', n: [1, 2] }, disabled: true, repeatInterval: 60_000 });
    const updated = await r.saveJob({ ...saved, priority: 20, data: { v: 2 } }, { lastModifiedBy: 'me' });
    expect(updated._id).toBe(saved._id);
    expect(await r.getJobById(String(saved._id))).toMatchObject({ priority: 20, data: { v: 2 }, lastModifiedBy: 'me' });
    await r.removeJobs({ id: saved._id! });
    expect(await r.getJobById(String(saved._id))).toBeNull();
  });

  it('upserts single jobs by name without resetting a due nextRunAt', async () => {
    const { repository: r } = await open();
    const a = await r.saveJob(job({ type: 'single', name: 's', nextRunAt: new Date(Date.now() + 60_000), data: { run: 1 } }), undefined);
    const b = await r.saveJob(job({ type: 'single', name: 's', priority: 10, nextRunAt: new Date(Date.now() + 120_000), data: { run: 2 } }), undefined);
    expect(b._id).toBe(a._id);
    expect(b).toMatchObject({ priority: 10, data: { run: 2 } });
    const stored = b.nextRunAt!.getTime();
    const c = await r.saveJob(job({ type: 'single', name: 's', nextRunAt: new Date(Date.now() - 5) }), undefined);
    expect(c.nextRunAt!.getTime()).toBe(stored);
    expect((await r.queryJobs({ name: 's' })).total).toBe(1);
  });

  it('queries by names, search, disabled, with pagination and counts the due queue', async () => {
    const { repository: r } = await open();
    await r.saveJob(job({ name: 'job-a', nextRunAt: new Date(Date.now() + 60_000) }), undefined);
    await r.saveJob(job({ name: 'job-b' }), undefined);
    await r.saveJob(job({ name: 'job-a', disabled: true }), undefined);
    expect((await r.queryJobs({ names: ['job-a', 'job-b'] })).total).toBe(3);
    expect((await r.queryJobs({ search: '-b' })).total).toBe(1);
    expect((await r.queryJobs({ search: '%' })).total).toBe(0);
    expect((await r.queryJobs({ search: 'job' })).total).toBe(3);
    expect((await r.queryJobs({ includeDisabled: false })).total).toBe(2);
    const page = await r.queryJobs({ skip: 1, limit: 1 });
    expect([page.total, page.jobs.length]).toEqual([3, 1]);
    expect(await r.getDistinctJobNames()).toEqual(['job-a', 'job-b']);
    expect(await r.getQueueSize()).toBe(2);
    expect(await r.removeJobs({ notNames: ['job-a'] })).toBe(1);
    expect(await r.removeJobs({})).toBe(0);
  });

  it('locks a job once, unlocks one or many', async () => {
    const { repository: r } = await open();
    const a = await r.saveJob(job(), undefined);
    const b = await r.saveJob(job(), undefined);
    const locked = await r.lockJob(a, undefined);
    expect(locked?.lockedAt).toBeInstanceOf(Date);
    expect(await r.lockJob(a, undefined)).toBeUndefined();
    await r.unlockJob(locked!);
    expect((await r.getJobById(String(a._id)))!.lockedAt).toBeUndefined();
    await r.lockJob(a, undefined);
    await r.lockJob(b, undefined);
    await r.unlockJobs([a._id!, b._id!]);
    expect((await r.queryJobs({ state: 'running' })).total).toBe(0);
  });

  it('getNextJobToRun takes the earliest due job, then the highest priority, skipping disabled and future ones', async () => {
    const { repository: r } = await open();
    const same = new Date(Date.now() - 60_000);
    await r.saveJob(job({ priority: 5, nextRunAt: same, data: { p: 'low' } }), undefined);
    await r.saveJob(job({ priority: 10, nextRunAt: same, data: { p: 'high' } }), undefined);
    await r.saveJob(job({ priority: 99, nextRunAt: new Date(Date.now() - 1000), data: { p: 'later' } }), undefined);
    await r.saveJob(job({ priority: 100, nextRunAt: new Date(Date.now() - 120_000), disabled: true }), undefined);
    await r.saveJob(job({ priority: 100, nextRunAt: new Date(Date.now() + 600_000) }), undefined);
    const order: unknown[] = [];
    for (;;) {
      const next = await r.getNextJobToRun('j', ...scan(), undefined);
      if (!next) break;
      order.push(next.data);
    }
    expect(order).toEqual([{ p: 'high' }, { p: 'low' }, { p: 'later' }]);
  });

  it('reclaims a job whose lock is older than the lock deadline', async () => {
    const { repository: r } = await open();
    const a = await r.saveJob(job(), undefined);
    await r.lockJob(a, undefined);
    const [nextScanAt, , now] = scan();
    expect(await r.getNextJobToRun('j', nextScanAt, new Date(now.getTime() - 60_000), now, undefined)).toBeUndefined();
    const reclaimed = await r.getNextJobToRun('j', nextScanAt, new Date(now.getTime() + 1), now, undefined);
    expect(reclaimed?._id).toBe(a._id);
  });

  it('never hands the same job to two connections', async () => {
    const [x, y] = [await open(), await open()];
    for (let i = 0; i < 40; i++) await x.repository.saveJob(job({ data: { i } }), undefined);
    const got: string[] = [];
    const drain = async (r: typeof x.repository): Promise<void> => {
      for (;;) {
        const next = await r.getNextJobToRun('j', ...scan(), undefined);
        if (!next) return;
        got.push(String(next._id));
      }
    };
    await Promise.all([drain(x.repository), drain(y.repository), drain(x.repository)]);
    expect(got.length).toBe(40);
    expect(new Set(got).size).toBe(40);
  });

  it('saveJobState writes run state and refuses a job that no longer exists', async () => {
    const { repository: r } = await open();
    const a = await r.saveJob(job(), undefined);
    const finished = new Date();
    await r.saveJobState({ ...a, lockedAt: undefined, lastRunAt: finished, lastFinishedAt: finished, nextRunAt: null, progress: 100 }, undefined);
    expect(await r.getJobById(String(a._id))).toMatchObject({ lastFinishedAt: finished, nextRunAt: null, progress: 100 });
    await r.removeJobs({ id: a._id! });
    await expect(r.saveJobState(a, undefined)).rejects.toThrow(/cannot be updated/);
  });
});
