// Scenarios with stock agenda 6.2.6 running on RailyardAgendaBackend.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agenda, type Job } from 'agenda';
import { RailyardAgendaBackend } from '../../src/agenda.js';
import { InvalidArgumentError } from '../../src/errors.js';

const dirs: string[] = [];
const agendas: Agenda[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ry-agenda-'));
  dirs.push(d);
  return d;
}

function makeAgenda(dataDir: string, opts: Partial<ConstructorParameters<typeof Agenda>[0]> = {}): Agenda {
  const a = new Agenda({ backend: new RailyardAgendaBackend({ dataDir }), processEvery: 100, ...opts });
  agendas.push(a);
  return a;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

interface WorkerLine { pid: number; ready?: boolean; ran?: string; at?: number; slot?: number; started?: string }

function startWorker(dataDir: string, mode: string, processEvery = 100): { child: ChildProcess; lines: WorkerLine[]; ready: Promise<void> } {
  const script = fileURLToPath(new URL('./fixtures/agenda-worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir, mode, String(processEvery)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: WorkerLine[] = [];
  let buf = '';
  let resolveReady: () => void;
  const ready = new Promise<void>((r) => { resolveReady = r; });
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, i)) as WorkerLine;
      buf = buf.slice(i + 1);
      lines.push(line);
      if (line.ready) resolveReady();
    }
  });
  return { child, lines, ready };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

afterEach(async () => {
  for (const a of agendas.splice(0)) await a.stop().catch(() => undefined);
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('stock Agenda 6 on RailyardAgendaBackend', () => {
  it('rejects a missing dataDir with InvalidArgumentError', () => {
    expect(() => new RailyardAgendaBackend({ dataDir: '' })).toThrow(InvalidArgumentError);
  });

  it('runs a job defined and queued with now(), emitting start/success/complete', async () => {
    const agenda = makeAgenda(tempDir());
    const events: string[] = [];
    agenda.define('send-email', async (job: Job<{ to: string }>) => {
      events.push(`run:${job.attrs.data.to}`);
    });
    agenda.on('start:send-email', () => events.push('start'));
    agenda.on('success:send-email', () => events.push('success'));
    agenda.on('complete:send-email', () => events.push('complete'));
    await agenda.start();
    const job = await agenda.now('send-email', { to: 'a@example.com' });
    await until(() => events.includes('complete'));
    expect(events).toEqual(['start', 'run:a@example.com', 'success', 'complete']);
    const { jobs } = await agenda.queryJobs({ id: String(job.attrs._id) });
    expect(jobs[0]!.state).toBe('completed');
    expect(jobs[0]!.lastFinishedAt).toBeInstanceOf(Date);
    expect(jobs[0]!.lockedAt).toBeUndefined();
  });

  it("runs schedule('in 2 seconds') no earlier than two seconds later", async () => {
    const agenda = makeAgenda(tempDir());
    let ranAt = 0;
    agenda.define('later', async () => { ranAt = Date.now(); });
    await agenda.start();
    const t0 = Date.now();
    await agenda.schedule('in 2 seconds', 'later', {});
    await until(() => ranAt > 0, 6_000);
    expect(ranAt - t0).toBeGreaterThanOrEqual(1_900);
  });

  it('repeats every() with human intervals and cron expressions, one stored job per name', async () => {
    const agenda = makeAgenda(tempDir());
    const runs: Record<string, number[]> = { human: [], cron: [] };
    agenda.define('human', async () => { runs.human!.push(Date.now()); });
    agenda.define('cron', async () => { runs.cron!.push(Date.now()); });
    await agenda.start();
    await agenda.every('1 second', 'human');
    await agenda.every('* * * * * *', 'cron');
    await agenda.every('1 second', 'human'); // re-registering keeps one job
    await until(() => runs.human!.length >= 3 && runs.cron!.length >= 2, 8_000);
    const { jobs } = await agenda.queryJobs({ names: ['human', 'cron'] });
    expect(jobs.length).toBe(2);
    expect(jobs.every((j) => j.type === 'single' && j.repeatInterval !== undefined && ['repeating', 'running'].includes(j.state))).toBe(true);
    const cronJob = jobs.find((j) => j.name === 'cron')!;
    // Cron repeats land on whole seconds: computed from the expression, not from the last run.
    expect(cronJob.nextRunAt!.getTime() % 1000).toBe(0);
  });

  it('runs due jobs in priority order when they are due at the same time', async () => {
    const dataDir = tempDir();
    const agenda = makeAgenda(dataDir);
    const order: string[] = [];
    agenda.define('p', async (job: Job<{ label: string }>) => { order.push(job.attrs.data.label); }, { concurrency: 1 });
    const when = new Date(Date.now() - 1_000);
    for (const [label, priority] of [['low', 'low'], ['highest', 'highest'], ['normal', 'normal'], ['high', 'high']] as const) {
      await agenda.create('p', { label }).priority(priority).schedule(when).save();
    }
    await agenda.start();
    await until(() => order.length === 4);
    expect(order).toEqual(['highest', 'high', 'normal', 'low']);
  });

  it('honours concurrency and lockLimit', async () => {
    const agenda = makeAgenda(tempDir());
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const body = async (): Promise<void> => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(150);
      running--;
      done++;
    };
    agenda.define('conc', body, { concurrency: 2 });
    await agenda.start();
    for (let i = 0; i < 6; i++) await agenda.now('conc', { i });
    await until(() => done === 6);
    expect(maxRunning).toBe(2);

    let maxLocked = 0;
    running = 0;
    maxRunning = 0;
    done = 0;
    agenda.define('limited', async () => {
      const { jobs } = await agenda.queryJobs({ name: 'limited', state: 'running' });
      maxLocked = Math.max(maxLocked, jobs.length);
      await body();
    }, { concurrency: 10, lockLimit: 1 });
    for (let i = 0; i < 4; i++) await agenda.now('limited', { i });
    await until(() => done === 4);
    expect(maxRunning).toBe(1);
    expect(maxLocked).toBe(1);
  });

  it('keeps one job per unique key, and the first one with insertOnly', async () => {
    const agenda = makeAgenda(tempDir());
    await agenda.create('u', { user: 7, v: 1 }).unique({ 'data.user': 7 }).save();
    await agenda.create('u', { user: 7, v: 2 }).unique({ 'data.user': 7 }).save();
    await agenda.create('u', { user: 8, v: 1 }).unique({ 'data.user': 8 }).save();
    let { jobs } = await agenda.queryJobs({ name: 'u', sort: { name: 'asc' } });
    expect(jobs.map((j) => j.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([{ user: 7, v: 2 }, { user: 8, v: 1 }]);
    await agenda.create('io', { k: 1, v: 1 }).unique({ 'data.k': 1 }, { insertOnly: true }).save();
    await agenda.create('io', { k: 1, v: 2 }).unique({ 'data.k': 1 }, { insertOnly: true }).save();
    ({ jobs } = await agenda.queryJobs({ name: 'io' }));
    expect(jobs.map((j) => j.data)).toEqual([{ k: 1, v: 1 }]);
  });

  it('debounces saves of a unique job (trailing)', async () => {
    const agenda = makeAgenda(tempDir());
    const t0 = Date.now();
    await agenda.nowDebounced('d', { key: 'x', n: 1 }, { 'data.key': 'x' }, 500);
    const first = (await agenda.queryJobs({ name: 'd' })).jobs[0]!;
    expect(first.nextRunAt!.getTime()).toBeGreaterThanOrEqual(t0 + 500);
    await sleep(100);
    await agenda.create('d', { key: 'x', n: 2 }).unique({ 'data.key': 'x' }, { debounce: { delay: 500 } }).save();
    const { jobs } = await agenda.queryJobs({ name: 'd' });
    expect(jobs.length).toBe(1);
    expect(jobs[0]!.nextRunAt!.getTime()).toBeGreaterThan(first.nextRunAt!.getTime());
    expect(jobs[0]!.data).toEqual({ key: 'x', n: 2 });
  });

  it('does not run disabled jobs until they are enabled', async () => {
    const agenda = makeAgenda(tempDir());
    let runs = 0;
    agenda.define('pausable', async () => { runs++; });
    await agenda.create('pausable', {}).schedule(new Date(Date.now() + 300)).save();
    expect(await agenda.disable({ name: 'pausable' })).toBe(1);
    await agenda.start();
    await sleep(700);
    expect(runs).toBe(0);
    expect((await agenda.queryJobs({ state: 'paused' })).total).toBe(1);
    expect((await agenda.queryJobs({ includeDisabled: false })).total).toBe(0);
    expect(await agenda.enable({ name: 'pausable' })).toBe(1);
    await until(() => runs === 1, 3_000);
  });

  it('records failures, emits fail events and keeps the job for inspection', async () => {
    const agenda = makeAgenda(tempDir());
    const failures: string[] = [];
    agenda.define('broken', async () => { throw new Error('kaput'); });
    agenda.on('fail:broken', (err: Error) => failures.push(err.message));
    await agenda.start();
    await agenda.now('broken', {});
    await until(() => failures.length === 1);
    await until(async () => (await agenda.queryJobs({ name: 'broken', state: 'failed' })).total === 1);
    const { jobs } = await agenda.queryJobs({ name: 'broken' });
    expect(jobs[0]!.failReason).toBe('kaput');
    expect(jobs[0]!.failCount).toBe(1);
  });

  it('queries with filters and pagination, overviews, cancels and purges', async () => {
    const agenda = makeAgenda(tempDir());
    for (let i = 0; i < 5; i++) await agenda.create('report', { i, team: i % 2 === 0 ? 'a' : 'b' }).schedule(new Date(Date.now() + 60_000 + i * 1000)).save();
    await agenda.create('cleanup', {}).schedule(new Date(Date.now() - 1000)).save();
    const page = await agenda.queryJobs({ name: 'report', sort: { nextRunAt: 'asc' }, skip: 1, limit: 2 });
    expect(page.total).toBe(5);
    expect(page.jobs.map((j) => (j.data as { i: number }).i)).toEqual([1, 2]);
    expect((await agenda.queryJobs({ data: { team: 'a' } })).total).toBe(3);
    expect((await agenda.queryJobs({ search: 'repo' })).total).toBe(5);
    expect((await agenda.queryJobs({ state: 'scheduled' })).total).toBe(5);
    expect((await agenda.queryJobs({ state: 'queued' })).total).toBe(1);
    const overview = await agenda.getJobsOverview();
    expect(overview.find((o) => o.name === 'report')).toMatchObject({ total: 5, scheduled: 5 });
    expect(await agenda.cancel({ name: 'report', data: { team: 'b' } })).toBe(2);
    expect(await agenda.purge()).toBeGreaterThanOrEqual(0);
    expect(await agenda.cancelAll()).toBeGreaterThan(0);
    expect((await agenda.queryJobs()).total).toBe(0);
  });

  it('keeps a persistent job log when logging is enabled', async () => {
    const agenda = makeAgenda(tempDir(), { logging: true });
    let done = false;
    agenda.define('logged', async () => { done = true; });
    await agenda.start();
    await agenda.now('logged', {});
    await until(() => done);
    await until(async () => (await agenda.getLogs({ jobName: 'logged', event: 'success' })).total === 1);
    const { entries } = await agenda.getLogs({ jobName: 'logged', sort: 'asc' });
    expect(entries.map((e) => e.event)).toContain('start');
    expect(await agenda.clearLogs({ jobName: 'logged' })).toBe(entries.length);
  });

  it('wakes an idle Agenda in another process when a job is saved here', async () => {
    const dataDir = tempDir();
    // processEvery of an hour: only the notification channel can make the worker notice the job.
    const worker = startWorker(dataDir, 'run', 3_600_000);
    await worker.ready;
    const producer = makeAgenda(dataDir);
    await producer.start();
    const savedAt = Date.now();
    const job = await producer.now('tick', { hello: 1 });
    await until(() => worker.lines.some((l) => l.ran === String(job.attrs._id)), 5_000);
    const line = worker.lines.find((l) => l.ran === String(job.attrs._id))!;
    // Printed for the report; the bench measures latency properly.
    console.log(`cross-process wake-up: ${line.at! - savedAt} ms`);
    await stopChild(worker.child);
  }, 30_000);

  it('never runs the same occurrence twice across two processes', async () => {
    const dataDir = tempDir();
    const workers = [startWorker(dataDir, 'run'), startWorker(dataDir, 'run')];
    await Promise.all(workers.map((w) => w.ready));
    const producer = makeAgenda(dataDir);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(String((await producer.now('tick', { i })).attrs._id));
    await producer.every('1 second', 'tick');
    await sleep(3_500);
    await Promise.all(workers.map((w) => stopChild(w.child)));
    const runs = workers.flatMap((w) => w.lines.filter((l) => l.ran));
    for (const id of ids) expect(runs.filter((r) => r.ran === id).length, id).toBe(1);
    const repeating = runs.filter((r) => !ids.includes(r.ran!));
    expect(repeating.length).toBeGreaterThanOrEqual(2);
    // Agenda sets lastRunAt when an occurrence starts and schedules the next one a second later, so
    // distinct occurrences are at least 1000 ms apart; one occurrence run twice would not be.
    const starts = repeating.map((r) => r.slot!).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!, JSON.stringify(starts)).toBeGreaterThanOrEqual(1000);
  }, 40_000);

  it('hands a job to another worker once the lock of a SIGKILLed worker expires', async () => {
    const dataDir = tempDir();
    const worker = startWorker(dataDir, 'hang');
    await worker.ready;
    const producer = makeAgenda(dataDir);
    const job = await producer.now('slow', {});
    await until(() => worker.lines.some((l) => l.started === String(job.attrs._id)));
    worker.child.kill('SIGKILL');
    let recoveredAt = 0;
    producer.define('slow', async () => { recoveredAt = Date.now(); }, { lockLifetime: 1_000 });
    const killedAt = Date.now();
    await producer.start();
    await until(() => recoveredAt > 0, 10_000);
    expect(recoveredAt - killedAt).toBeGreaterThanOrEqual(500);
  }, 30_000);
});
