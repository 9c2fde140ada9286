/**
 * What inline and background tasks answer alike: status and run bookkeeping, and the questions about
 * the schedule (next runs, matches, runs left), all computed from the expression.
 */
import type { CronSchedule } from './schedule.js';
import type { LastRun, TaskOptions, TaskStatus } from './cron-types.js';

export abstract class TaskBase {
  protected status: TaskStatus = 'stopped';
  protected runCount = 0;
  protected last: LastRun | null = null;

  protected constructor(
    protected readonly schedule: CronSchedule,
    protected readonly options: TaskOptions,
  ) {}

  getStatus(): TaskStatus {
    return this.status;
  }

  getNextRun(): Date | null {
    if (this.status === 'stopped') return null;
    const next = this.schedule.nextAfter(Date.now());
    return next === null ? null : new Date(next);
  }

  getNextRuns(count: number): Date[] {
    return this.schedule.nextRuns(Date.now(), count).map((t) => new Date(t));
  }

  match(date: Date): boolean {
    return this.schedule.match(date.getTime());
  }

  msToNext(): number | null {
    const next = this.getNextRun();
    return next ? next.getTime() - Date.now() : null;
  }

  isBusy(): boolean {
    return this.status === 'running';
  }

  runsLeft(): number | undefined {
    if (this.options.maxExecutions == null) return undefined;
    return Math.max(0, this.options.maxExecutions - this.runCount);
  }

  getPattern(): string {
    return this.schedule.expression;
  }

  lastRun(): LastRun | null {
    return this.last;
  }
}
