// The same assertions against railyard/cron and node-cron 4.6 itself: whatever passes here is
// node-cron's behaviour, not just ours.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import nodeCron from 'node-cron';
import railyardCron from '../../src/cron.js';
import type { TaskContext } from '../../src/cron.js';
import { InvalidArgumentError } from '../../src/errors.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} };

interface TaskLike {
  id: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  destroy(): void | Promise<void>;
  getStatus(): string;
  execute(): Promise<unknown>;
  getNextRun(): Date | null;
  getNextRuns(n: number): Date[];
  match(d: Date): boolean;
  msToNext(): number | null;
  isBusy(): boolean;
  runsLeft(): number | undefined;
  getPattern(): string;
  lastRun(): { date: Date; result?: unknown; error?: Error } | null;
  on(e: string, f: (c: TaskContext) => void): void;
  off(e: string, f: (c: TaskContext) => void): void;
  once(e: string, f: (c: TaskContext) => void): void;
}
type Options = Record<string, unknown>;
interface Impl {
  schedule(e: string, f: (c: TaskContext) => unknown, o?: Options): TaskLike;
  createTask(e: string, f: (c: TaskContext) => unknown, o?: Options): TaskLike;
  validate(e: string): boolean;
  validateDetailed(e: string): { valid: boolean; errors: { field: string }[]; fields?: unknown };
  parse(e: string): unknown;
  getTasks(): Map<string, TaskLike>;
  getTask(id: string): TaskLike | undefined;
  setLogger(l: typeof silent): void;
  setRunCoordinator(c: unknown): void;
  shutdown(t?: number): Promise<void>;
}

const impls: [string, Impl][] = [
  ['railyard/cron', railyardCron as unknown as Impl],
  ['node-cron 4.6', nodeCron as unknown as Impl],
];

const START = Date.parse('2026-06-01T12:00:00.250Z');

describe.each(impls)('%s', (_name, cron) => {
  beforeEach(() => {
    vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date', 'performance'] });
    cron.setLogger(silent);
  });
  afterEach(async () => {
    for (const t of [...cron.getTasks().values()]) await t.destroy();
    cron.setRunCoordinator(undefined);
    vi.useRealTimers();
  });

  it('validates expressions like node-cron', () => {
    for (const e of ['* * * * *', '*/5 * * * * *', '0 0 L * *', '0 0 L-2 * *', '0 0 15W * *', '0 0 LW * *', '0 0 * * 5L', '0 0 * * 1#2',
      '0 0 ? * MON-FRI', '@daily', '@hourly', '0 22-2 * * *', '0 0 * JAN-MAR SUN', '0 0 * * 7', '  0   0 * * *  ']) {
      expect(cron.validate(e), e).toBe(true);
    }
    for (const e of ['', '* * * *', '60 * * * *', '* 24 * * *', '5/15 * * * *', '0 0 31 2 *', '0 0 32 * *', '0 0 * * 8', '0 0 * 13 *',
      '0 0 W * *', '0 0 * * 1#6', '* * * * * * *', 'a b c d e', '0 0 L-31 * *']) {
      expect(cron.validate(e), e).toBe(false);
    }
  });

  it('reports the failing field in validateDetailed and expands fields in parse', () => {
    const bad = cron.validateDetailed('61 * * * *');
    expect(bad.valid).toBe(false);
    expect(bad.errors[0]!.field).toBe('minute');
    expect(cron.parse('*/20 1-3 * * MON')).toEqual({
      second: [0], minute: [0, 20, 40], hour: [1, 2, 3],
      dayOfMonth: Array.from({ length: 31 }, (_, i) => i + 1), month: Array.from({ length: 12 }, (_, i) => i + 1), dayOfWeek: [1],
    });
    expect(() => cron.parse('61 * * * *')).toThrow(/minute/);
  });

  it('fires on every matching second, with the slot as context.date', async () => {
    const dates: number[] = [];
    cron.schedule('* * * * * *', (ctx) => { dates.push(ctx.date.getTime()); });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(dates).toEqual([1, 2, 3, 4, 5].map((i) => Math.floor(START / 1000) * 1000 + i * 1000));
  });

  it('computes each run from the expression, never previous + interval', async () => {
    const dates: string[] = [];
    cron.schedule('*/20 * * * * *', (ctx) => { dates.push(ctx.date.toISOString()); });
    await vi.advanceTimersByTimeAsync(61_000);
    expect(dates).toEqual(['2026-06-01T12:00:20.000Z', '2026-06-01T12:00:40.000Z', '2026-06-01T12:01:00.000Z']);
  });

  it('keeps the schedule when the task throws, reporting execution:failed and lastRun', async () => {
    let calls = 0;
    const failed: string[] = [];
    const task = cron.schedule('* * * * * *', () => { calls++; throw new Error(`boom ${calls}`); });
    task.on('execution:failed', (ctx) => failed.push(ctx.execution!.error!.message));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toBe(3);
    expect(failed).toEqual(['boom 1', 'boom 2', 'boom 3']);
    expect(task.lastRun()?.error?.message).toBe('boom 3');
    expect(task.getStatus()).toBe('idle');
  });

  it('emits lifecycle events and reports status', async () => {
    const events: string[] = [];
    const task = cron.createTask('* * * * * *', async () => 'ok');
    for (const e of ['task:started', 'task:stopped', 'task:destroyed', 'execution:started', 'execution:finished']) {
      task.on(e, () => { events.push(e); });
    }
    expect(task.getStatus()).toBe('stopped');
    expect(task.getNextRun()).toBeNull();
    await task.start();
    expect(task.getStatus()).toBe('idle');
    expect(task.getNextRun()!.toISOString()).toBe('2026-06-01T12:00:01.000Z');
    expect(task.msToNext()).toBe(750);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.lastRun()?.result).toBe('ok');
    await task.stop();
    expect(task.getStatus()).toBe('stopped');
    await vi.advanceTimersByTimeAsync(3_000);
    await task.destroy();
    expect(task.getStatus()).toBe('destroyed');
    expect(events).toEqual(['task:started', 'execution:started', 'execution:finished', 'task:stopped', 'task:destroyed']);
    expect(cron.getTask(task.id)).toBeUndefined();
  });

  it('is busy while running and skips overlapping slots with noOverlap', async () => {
    let runs = 0;
    const overlaps: number[] = [];
    const task = cron.schedule('* * * * * *', () => { runs++; return new Promise((r) => setTimeout(r, 2_500)); }, { noOverlap: true });
    task.on('execution:overlap', (ctx) => { overlaps.push(ctx.date.getTime()); });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task.isBusy()).toBe(true);
    expect(task.getStatus()).toBe('running');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(2);
    expect(overlaps.length).toBe(4);
  });

  it('stops after maxExecutions with execution:maxReached', async () => {
    let runs = 0;
    let reached = 0;
    const task = cron.schedule('* * * * * *', () => { runs++; }, { maxExecutions: 2 });
    task.on('execution:maxReached', () => { reached++; });
    expect(task.runsLeft()).toBe(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(2);
    expect(reached).toBe(1);
    expect(task.runsLeft()).toBe(0);
    expect(task.getStatus()).toBe('destroyed');
    expect(cron.getTasks().has(task.id)).toBe(false);
  });

  it('runs execute() on demand with reason "invoked"', async () => {
    const reasons: string[] = [];
    const task = cron.createTask('0 0 1 1 *', (ctx) => { reasons.push(ctx.execution!.reason); return 42; });
    await expect(task.execute()).resolves.toBe(42);
    const failing = cron.createTask('0 0 1 1 *', () => { throw new Error('nope'); });
    await expect(failing.execute()).rejects.toThrow('nope');
    expect(reasons).toEqual(['invoked']);
    expect(task.getStatus()).toBe('stopped');
  });

  it('names tasks, registers them by id and passes the task in the context', async () => {
    let seen: unknown;
    const named = cron.schedule('* * * * * *', (ctx) => { seen = ctx.task; }, { name: 'report' }) as TaskLike & { name?: string };
    const anonymous = cron.createTask('* * * * * *', () => undefined) as TaskLike & { name?: string };
    expect(named.name).toBe('report');
    expect(anonymous.name).toBe(anonymous.id);
    expect(cron.getTasks()).toBeInstanceOf(Map);
    expect(cron.getTask(named.id)).toBe(named);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toBe(named);
  });

  it('reports rejected promises as failures and counts them against maxExecutions without stopping', async () => {
    const failed: string[] = [];
    const task = cron.schedule('* * * * * *', async () => { throw new Error('async boom'); }, { maxExecutions: 2 });
    task.on('execution:failed', (ctx) => { failed.push(ctx.execution!.error!.message); });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(failed).toEqual(['async boom', 'async boom', 'async boom']);
    expect(task.runsLeft()).toBe(0);
    expect(task.getStatus()).toBe('idle');
  });

  it('stops firing after stop() and resumes from the next slot after start()', async () => {
    const dates: string[] = [];
    const task = cron.schedule('* * * * * *', (ctx) => { dates.push(ctx.date.toISOString()); });
    await vi.advanceTimersByTimeAsync(1_000);
    await task.stop();
    await vi.advanceTimersByTimeAsync(3_000);
    await task.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(dates).toEqual(['2026-06-01T12:00:01.000Z', '2026-06-01T12:00:05.000Z']);
  });

  it('answers getNextRuns, match and getPattern from the expression', () => {
    const task = cron.createTask('0 30 9 * * MON-FRI', () => undefined, { timezone: 'Europe/London' });
    expect(task.getPattern()).toBe('0 30 9 * * MON-FRI');
    expect(task.getNextRuns(3).map((d) => d.toISOString())).toEqual(['2026-06-02T08:30:00.000Z', '2026-06-03T08:30:00.000Z', '2026-06-04T08:30:00.000Z']);
    expect(task.match(new Date('2026-06-01T08:30:00.000Z'))).toBe(true);
    expect(task.match(new Date('2026-06-01T08:30:00.500Z'))).toBe(true);
    expect(task.match(new Date('2026-06-01T09:30:00.000Z'))).toBe(false);
    expect(task.match(new Date('2026-06-06T08:30:00.000Z'))).toBe(false);
  });

  it('combines day of month and day of week with AND', () => {
    const task = cron.createTask('0 0 13 * FRI', () => undefined, { timezone: 'UTC' });
    expect(task.getNextRuns(2).map((d) => d.toISOString())).toEqual(['2026-11-13T00:00:00.000Z', '2027-08-13T00:00:00.000Z']);
  });

  it('gives the local slot time in dateLocalIso', async () => {
    const seen: string[] = [];
    cron.schedule('* * * * * *', (ctx) => { seen.push(ctx.dateLocalIso); }, { timezone: 'America/New_York' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual(['2026-06-01T08:00:01.000-04:00']);
  });

  it('asks the run coordinator for distributed tasks and skips slots it was not elected for', async () => {
    const keys: string[] = [];
    const skipped: string[] = [];
    let runs = 0;
    const task = cron.schedule('* * * * * *', () => { runs++; }, {
      name: 'report',
      distributed: true,
      runCoordinator: { shouldRun: (key: string) => { keys.push(key); return keys.length % 2 === 1; } },
    });
    task.on('execution:skipped', (ctx) => { skipped.push(ctx.reason!); });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(keys[0]).toBe('report:2026-06-01T12:00:01.000Z');
    expect(runs).toBe(2);
    expect(skipped).toEqual(['not-elected', 'not-elected']);
  });

  it('fails closed when the coordinator throws', async () => {
    const reasons: string[] = [];
    let runs = 0;
    cron.setRunCoordinator({ shouldRun: () => { throw new Error('db down'); } });
    const task = cron.schedule('* * * * * *', () => { runs++; }, { name: 'x', distributed: true });
    task.on('execution:skipped', (ctx) => { reasons.push(ctx.reason!); });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs).toBe(0);
    expect(reasons).toEqual(['coordinator-error', 'coordinator-error']);
  });

  it('requires a name for distributed tasks and rejects invalid expressions', () => {
    expect(() => cron.createTask('* * * * *', () => undefined, { distributed: true, runCoordinator: { shouldRun: () => true } })).toThrow(/name/);
    expect(() => cron.createTask('61 * * * *', () => undefined)).toThrow();
  });

  it('delays each run by at most maxRandomDelay', async () => {
    const lateness: number[] = [];
    cron.schedule('* * * * * *', (ctx) => { lateness.push(Date.now() - ctx.date.getTime()); }, { maxRandomDelay: 300 });
    await vi.advanceTimersByTimeAsync(5_400);
    expect(lateness.length).toBe(5);
    for (const l of lateness) expect(l).toBeLessThan(300);
  });

  it('shutdown waits for running executions, then destroys every task', async () => {
    let finished = false;
    cron.schedule('* * * * * *', () => new Promise<void>((r) => setTimeout(() => { finished = true; r(); }, 500)));
    await vi.advanceTimersByTimeAsync(1_000);
    const done = cron.shutdown(2_000);
    await vi.advanceTimersByTimeAsync(600);
    await done;
    expect(finished).toBe(true);
  });
});

// Where railyard/cron deliberately differs from node-cron 4.6 (each difference is a node-cron defect).
describe('railyard/cron beyond node-cron', () => {
  const cron = railyardCron as unknown as Impl;
  beforeEach(() => {
    vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date', 'performance'] });
    cron.setLogger(silent);
  });
  afterEach(async () => {
    for (const t of [...cron.getTasks().values()]) await t.destroy();
    vi.useRealTimers();
  });

  it('throws InvalidArgumentError naming the field and value', () => {
    expect(() => cron.createTask('0 24 * * *', () => undefined)).toThrow(InvalidArgumentError);
    let caught: unknown;
    try {
      cron.parse('0 0 32 * *');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).argument).toBe('expression (dayOfMonth)');
    expect((caught as InvalidArgumentError).value).toBe('32');
  });

  it('rejects an unknown time zone when the task is created (node-cron throws only later)', () => {
    expect(() => cron.createTask('* * * * *', () => undefined, { timezone: 'Mars/Olympus' })).toThrow(/timezone.*Mars\/Olympus/);
  });

  // node-cron calls `once` listeners on every emit.
  it('fires once listeners once and removes listeners with off', async () => {
    let once = 0;
    let on = 0;
    const task = cron.schedule('* * * * * *', () => undefined);
    const listener = (): void => { on++; };
    task.once('execution:finished', () => { once++; });
    task.on('execution:finished', listener);
    await vi.advanceTimersByTimeAsync(2_000);
    task.off('execution:finished', listener);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(once).toBe(1);
    expect(on).toBe(2);
  });

  // node-cron notices a forward clock jump only when its (up to 24 h) timer fires; the shared heap
  // wakes at least every 5 s, so the slot right after the jump still runs.
  it('reports slots missed while the clock jumped forward', async () => {
    const missed: string[] = [];
    const ran: string[] = [];
    const task = cron.schedule('*/10 * * * * *', (ctx) => { ran.push(ctx.date.toISOString()); });
    task.on('execution:missed', (ctx) => { missed.push(ctx.date.toISOString()); });
    vi.setSystemTime(START + 25_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(missed).toEqual(['2026-06-01T12:00:10.000Z', '2026-06-01T12:00:20.000Z']);
    expect(ran).toEqual(['2026-06-01T12:00:30.000Z']);
  });

  it('caps the missed-slot backlog after a jump of hours and keeps running on time', async () => {
    let missed = 0;
    const ran: number[] = [];
    const task = cron.schedule('* * * * * *', (ctx) => { ran.push(ctx.date.getTime()); }, { suppressMissedWarning: true });
    task.on('execution:missed', () => { missed++; });
    vi.setSystemTime(START + 2 * 3600_000);
    await vi.advanceTimersByTimeAsync(7_000);
    expect(missed).toBe(1000);
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran[ran.length - 1]).toBe(Math.floor(Date.now() / 1000) * 1000);
  });

  it('drops a run waiting out its random delay when stopped, without a stale overlap later', async () => {
    const runs: number[] = [];
    const overlaps: number[] = [];
    const original = Math.random;
    Math.random = () => 0.9;
    try {
      const task = cron.schedule('* * * * * *', (ctx) => { runs.push(ctx.date.getTime()); }, { maxRandomDelay: 500 });
      task.on('execution:overlap', (ctx) => { overlaps.push(ctx.date.getTime()); });
      await vi.advanceTimersByTimeAsync(1_000);
      await task.stop();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(runs).toEqual([]);
      await task.start();
      await vi.advanceTimersByTimeAsync(2_500);
      expect(runs.length).toBe(2);
      expect(overlaps).toEqual([]);
    } finally {
      Math.random = original;
    }
  });

  it('shutdown empties the registry (node-cron leaves a task that was busy)', async () => {
    cron.schedule('* * * * * *', () => new Promise<void>((r) => setTimeout(r, 500)));
    await vi.advanceTimersByTimeAsync(1_000);
    const done = cron.shutdown(2_000);
    await vi.advanceTimersByTimeAsync(600);
    await done;
    expect(cron.getTasks().size).toBe(0);
  });
});
