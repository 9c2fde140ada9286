/** Mapping between Agenda's JobParameters and agenda_jobs rows, plus the filters every query shares. */
import type { JobId, JobParameters, JobState, RemoveJobsOptions } from 'agenda';

export interface JobRow {
  id: string;
  name: string;
  priority: number;
  next_run_at: number | null;
  type: string;
  locked_at: number | null;
  last_run_at: number | null;
  last_finished_at: number | null;
  failed_at: number | null;
  fail_count: number | null;
  fail_reason: string | null;
  repeat_interval: string | null;
  repeat_timezone: string | null;
  repeat_at: string | null;
  data: string | null;
  disabled: number;
  progress: number | null;
  fork: number;
  last_modified_by: string | null;
  debounce_started_at: number | null;
  start_date: number | null;
  end_date: number | null;
  skip_days: string | null;
}

const date = (v: number | null): Date | undefined => (v === null ? undefined : new Date(v));
const ms = (v: Date | string | number | null | undefined): number | null => {
  if (v === null || v === undefined) return null;
  const t = v instanceof Date ? v.getTime() : new Date(v).getTime();
  return Number.isNaN(t) ? null : t;
};

export function rowToJob<DATA = unknown>(row: JobRow): JobParameters<DATA> {
  const job: JobParameters<DATA> = {
    _id: row.id as JobId,
    name: row.name,
    priority: row.priority,
    nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
    type: row.type === 'single' ? 'single' : 'normal',
    data: (row.data === null ? undefined : JSON.parse(row.data)) as DATA,
    disabled: row.disabled === 1,
  };
  const optional: Partial<JobParameters<DATA>> = {
    lockedAt: date(row.locked_at),
    lastRunAt: date(row.last_run_at),
    lastFinishedAt: date(row.last_finished_at),
    failedAt: date(row.failed_at),
    failCount: row.fail_count ?? undefined,
    failReason: row.fail_reason ?? undefined,
    repeatInterval: row.repeat_interval === null ? undefined : (JSON.parse(row.repeat_interval) as string | number),
    repeatTimezone: row.repeat_timezone ?? undefined,
    repeatAt: row.repeat_at ?? undefined,
    progress: row.progress ?? undefined,
    fork: row.fork === 1 ? true : undefined,
    lastModifiedBy: row.last_modified_by ?? undefined,
    debounceStartedAt: date(row.debounce_started_at),
    startDate: date(row.start_date),
    endDate: date(row.end_date),
    skipDays: row.skip_days === null ? undefined : (JSON.parse(row.skip_days) as number[]),
  };
  for (const [k, v] of Object.entries(optional)) {
    if (v !== undefined) (job as unknown as Record<string, unknown>)[k] = v;
  }
  return job;
}

/** Column values for INSERT/UPDATE of a job's definition (not its lock/run state). */
export function definitionColumns(job: JobParameters, lastModifiedBy: string | undefined): Record<string, unknown> {
  return {
    name: job.name,
    priority: job.priority ?? 0,
    next_run_at: ms(job.nextRunAt),
    type: job.type === 'single' ? 'single' : 'normal',
    repeat_interval: job.repeatInterval === undefined || job.repeatInterval === null ? null : JSON.stringify(job.repeatInterval),
    repeat_timezone: job.repeatTimezone ?? null,
    repeat_at: job.repeatAt ?? null,
    data: job.data === undefined ? null : JSON.stringify(job.data),
    disabled: job.disabled ? 1 : 0,
    fork: job.fork ? 1 : 0,
    fail_reason: job.failReason ?? null,
    fail_count: job.failCount ?? null,
    failed_at: ms(job.failedAt),
    last_modified_by: lastModifiedBy ?? null,
    start_date: ms(job.startDate),
    end_date: ms(job.endDate),
    skip_days: job.skipDays ? JSON.stringify(job.skipDays) : null,
  };
}

/** Run-state columns written by saveJobState after each run. */
export function stateColumns(job: JobParameters, lastModifiedBy: string | undefined): Record<string, unknown> {
  return {
    locked_at: ms(job.lockedAt),
    next_run_at: ms(job.nextRunAt),
    last_run_at: ms(job.lastRunAt),
    progress: job.progress ?? null,
    fail_reason: job.failReason ?? null,
    fail_count: job.failCount ?? null,
    failed_at: ms(job.failedAt),
    last_finished_at: ms(job.lastFinishedAt),
    last_modified_by: lastModifiedBy ?? null,
  };
}

export { ms as toMillis };

/**
 * The state a dashboard shows for a job: locked jobs run, a failure newer than the last finish wins,
 * then repeating, then by nextRunAt (future = scheduled, past = queued), else completed.
 */
export function jobState(job: JobParameters, now: number): JobState {
  if (job.lockedAt) return 'running';
  const failed = job.failedAt?.getTime();
  const finished = job.lastFinishedAt?.getTime();
  if (failed !== undefined && (finished === undefined || failed >= finished)) return 'failed';
  if (job.repeatInterval) return 'repeating';
  if (job.nextRunAt) return job.nextRunAt.getTime() > now ? 'scheduled' : 'queued';
  return 'completed';
}

/** Whether `value` contains `pattern` (every key of pattern present with a contained value), like JSONB @>. */
export function contains(value: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return value === pattern;
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && pattern.every((p) => value.some((v) => contains(v, p)));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.entries(pattern).every(([k, p]) => contains((value as Record<string, unknown>)[k], p));
}

export interface Filter {
  where: string;
  params: unknown[];
  /** Applied in JS after the SQL filter (JSON containment). */
  data?: unknown;
}

/** WHERE clause for RemoveJobsOptions; null when the options select nothing (never "all jobs"). */
export function filterFromOptions(options: RemoveJobsOptions): Filter | null {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (options.id) {
    conditions.push('id = ?');
    params.push(String(options.id));
  } else if (options.ids && options.ids.length > 0) {
    conditions.push(`id IN (${options.ids.map(() => '?').join(',')})`);
    params.push(...options.ids.map(String));
  }
  if (options.name) {
    conditions.push('name = ?');
    params.push(options.name);
  } else if (options.names && options.names.length > 0) {
    conditions.push(`name IN (${options.names.map(() => '?').join(',')})`);
    params.push(...options.names);
  } else if (options.notNames && options.notNames.length > 0) {
    conditions.push(`name NOT IN (${options.notNames.map(() => '?').join(',')})`);
    params.push(...options.notNames);
  }
  if (conditions.length === 0 && options.data === undefined) return null;
  const filter: Filter = { where: conditions.length > 0 ? conditions.join(' AND ') : '1', params };
  if (options.data !== undefined) filter.data = options.data;
  return filter;
}
