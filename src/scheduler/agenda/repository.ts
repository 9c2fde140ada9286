/**
 * Agenda 6's JobRepository on the data dir's SQLite file.
 *
 * Every read-modify-write runs in a BEGIN IMMEDIATE transaction, which SQLite serialises across all
 * processes sharing the file: that is what makes getNextJobToRun's "find and lock" atomic, and single
 * and unique upserts race-free between processes.
 */
import { randomUUID } from 'node:crypto';
import type {
  JobId,
  JobParameters,
  JobRepository,
  JobRepositoryOptions,
  JobsOverview,
  JobsQueryOptions,
  JobsResult,
  JobsSort,
  JobWithState,
  RemoveJobsOptions,
} from 'agenda';
import type { Db } from '../../store/sqlite.js';
import { contains, definitionColumns, filterFromOptions, jobState, rowToJob, stateColumns, toMillis, type Filter, type JobRow } from './rows.js';

/** Agenda's default processing order: earliest nextRunAt first, then highest priority. */
const DUE_ORDER = 'next_run_at IS NULL, next_run_at ASC, priority DESC';

function orderBy(sort: JobsSort | undefined): string {
  const parts: string[] = [];
  const col = (c: string, dir: string | number | undefined): void => {
    if (dir === undefined) return;
    const desc = dir === 'desc' || dir === -1;
    parts.push(`${c} IS NULL, ${c} ${desc ? 'DESC' : 'ASC'}`);
  };
  if (sort) {
    col('next_run_at', sort.nextRunAt);
    col('last_run_at', sort.lastRunAt);
    col('last_finished_at', sort.lastFinishedAt);
    col('priority', sort.priority);
    col('name', sort.name);
  }
  return parts.length > 0 ? parts.join(', ') : 'next_run_at IS NULL, next_run_at DESC, last_run_at IS NULL, last_run_at DESC';
}

function assignments(columns: Record<string, unknown>): string {
  return Object.keys(columns).map((k) => `${k} = @${k}`).join(', ');
}

export class SqliteJobRepository implements JobRepository {
  constructor(private readonly db: () => Db) {}

  async connect(): Promise<void> {
    this.db();
  }

  private rows(sql: string, params: unknown[] = []): JobRow[] {
    return this.db().prepare(sql).all(...params) as JobRow[];
  }

  /** Rows selected by a filter, with JSON containment on data applied in JS. */
  private filtered(filter: Filter): JobRow[] {
    const rows = this.rows(`SELECT * FROM agenda_jobs WHERE ${filter.where}`, filter.params);
    if (filter.data === undefined) return rows;
    return rows.filter((r) => contains(r.data === null ? undefined : JSON.parse(r.data), filter.data));
  }

  async queryJobs(options: JobsQueryOptions = {}): Promise<JobsResult> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (options.name) {
      conditions.push('name = ?');
      params.push(options.name);
    } else if (options.names && options.names.length > 0) {
      conditions.push(`name IN (${options.names.map(() => '?').join(',')})`);
      params.push(...options.names);
    }
    if (options.id) {
      conditions.push('id = ?');
      params.push(options.id);
    } else if (options.ids && options.ids.length > 0) {
      conditions.push(`id IN (${options.ids.map(() => '?').join(',')})`);
      params.push(...options.ids);
    }
    if (options.search) {
      conditions.push("name LIKE ? ESCAPE '\\'");
      params.push(`%${options.search.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    }
    if (options.includeDisabled === false) conditions.push('disabled = 0');
    const where = conditions.length > 0 ? conditions.join(' AND ') : '1';
    let rows = this.rows(`SELECT * FROM agenda_jobs WHERE ${where} ORDER BY ${orderBy(options.sort)}`, params);
    if (options.data !== undefined) rows = rows.filter((r) => contains(r.data === null ? undefined : JSON.parse(r.data), options.data));
    const now = Date.now();
    let jobs: JobWithState[] = rows.map((r) => {
      const job = rowToJob(r);
      return { ...job, _id: job._id as JobId, state: jobState(job, now) };
    });
    if (options.state) {
      const wanted = options.state;
      jobs = jobs.filter((j) => (wanted === 'paused' ? j.disabled === true : j.state === wanted));
    }
    const total = jobs.length;
    const skip = options.skip ?? 0;
    const limit = options.limit ?? 0;
    if (limit > 0) jobs = jobs.slice(skip, skip + limit);
    else if (skip > 0) jobs = jobs.slice(skip);
    return { jobs, total };
  }

  async getJobsOverview(): Promise<JobsOverview[]> {
    const now = Date.now();
    const byName = new Map<string, JobsOverview>();
    for (const row of this.rows('SELECT * FROM agenda_jobs ORDER BY name')) {
      let o = byName.get(row.name);
      if (!o) {
        o = { name: row.name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
        byName.set(row.name, o);
      }
      const job = rowToJob(row);
      o.total++;
      o[jobState(job, now)]++;
      if (job.disabled) o.paused++;
    }
    return [...byName.values()];
  }

  async getDistinctJobNames(): Promise<string[]> {
    return (this.db().prepare('SELECT DISTINCT name FROM agenda_jobs ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  }

  async getJobById(id: string): Promise<JobParameters | null> {
    const row = this.db().prepare('SELECT * FROM agenda_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? rowToJob(row) : null;
  }

  async getQueueSize(): Promise<number> {
    return (this.db().prepare('SELECT count(*) AS n FROM agenda_jobs WHERE next_run_at < ?').get(Date.now()) as { n: number }).n;
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    return this.updateMatching(options, 'DELETE FROM agenda_jobs');
  }

  async disableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.updateMatching(options, 'UPDATE agenda_jobs SET disabled = 1');
  }

  async enableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.updateMatching(options, 'UPDATE agenda_jobs SET disabled = 0');
  }

  private updateMatching(options: RemoveJobsOptions, statement: string): number {
    const filter = filterFromOptions(options);
    if (!filter) return 0;
    const db = this.db();
    if (filter.data === undefined) return db.prepare(`${statement} WHERE ${filter.where}`).run(...filter.params).changes;
    return db.transaction(() => {
      const ids = this.filtered(filter).map((r) => r.id);
      const stmt = db.prepare(`${statement} WHERE id = ?`);
      let n = 0;
      for (const id of ids) n += stmt.run(id).changes;
      return n;
    }).immediate();
  }

  async purgeAllJobs(): Promise<number> {
    return this.db().prepare('DELETE FROM agenda_jobs').run().changes;
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    if (!job._id) throw new Error('Cannot save job state without job ID');
    const cols = stateColumns(job, options?.lastModifiedBy);
    const result = this.db()
      .prepare(`UPDATE agenda_jobs SET ${assignments(cols)} WHERE id = @id AND name = @name`)
      .run({ ...cols, id: String(job._id), name: job.name });
    if (result.changes !== 1) {
      throw new Error(`job ${String(job._id)} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`);
    }
  }

  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    if (!job._id) return undefined;
    const row = this.db()
      .prepare(
        `UPDATE agenda_jobs SET locked_at = ?, last_modified_by = ?
         WHERE id = ? AND name = ? AND locked_at IS NULL AND next_run_at IS ? AND disabled = 0 RETURNING *`,
      )
      .get(Date.now(), options?.lastModifiedBy ?? null, String(job._id), job.name, toMillis(job.nextRunAt)) as JobRow | undefined;
    return row ? rowToJob(row) : undefined;
  }

  async unlockJob(job: JobParameters): Promise<void> {
    if (!job._id) return;
    // A job whose nextRunAt was cleared is being finished by its runner; leave its lock to it.
    this.db().prepare('UPDATE agenda_jobs SET locked_at = NULL WHERE id = ? AND next_run_at IS NOT NULL').run(String(job._id));
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    if (jobIds.length === 0) return;
    this.db().prepare(`UPDATE agenda_jobs SET locked_at = NULL WHERE id IN (${jobIds.map(() => '?').join(',')})`).run(...jobIds.map(String));
  }

  async getNextJobToRun(
    jobName: string,
    nextScanAt: Date,
    lockDeadline: Date,
    now: Date | undefined,
    options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters | undefined> {
    const db = this.db();
    const lockTime = (now ?? new Date()).getTime();
    const row = db.transaction(() => {
      // Due and unlocked, or locked by a worker whose lock expired (it crashed or hung).
      const candidate = db
        .prepare(
          `SELECT id FROM agenda_jobs
           WHERE name = ? AND disabled = 0
             AND ((locked_at IS NULL AND next_run_at <= ?) OR locked_at <= ?)
           ORDER BY ${DUE_ORDER} LIMIT 1`,
        )
        .get(jobName, nextScanAt.getTime(), lockDeadline.getTime()) as { id: string } | undefined;
      if (!candidate) return undefined;
      return db
        .prepare('UPDATE agenda_jobs SET locked_at = ?, last_modified_by = ? WHERE id = ? RETURNING *')
        .get(lockTime, options?.lastModifiedBy ?? null, candidate.id) as JobRow | undefined;
    }).immediate();
    return row ? rowToJob(row) : undefined;
  }

  async saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined): Promise<JobParameters<DATA>> {
    const db = this.db();
    const cols = definitionColumns(job as JobParameters, options?.lastModifiedBy);
    if (job._id) {
      const row = db
        .prepare(`UPDATE agenda_jobs SET ${assignments(cols)} WHERE id = @id AND name = @name RETURNING *`)
        .get({ ...cols, id: String(job._id) }) as JobRow | undefined;
      // Removed meanwhile: Agenda expects its own data back rather than an error.
      return row ? rowToJob<DATA>(row) : job;
    }
    if (cols.type === 'single') return this.saveSingle<DATA>(cols, job.nextRunAt);
    if (job.unique) return this.saveUnique<DATA>(job, cols);
    return this.insert<DATA>(cols);
  }

  private insert<DATA>(cols: Record<string, unknown>): JobParameters<DATA> {
    const all = { id: randomUUID(), ...cols };
    const keys = Object.keys(all);
    const row = this.db()
      .prepare(`INSERT INTO agenda_jobs (${keys.join(', ')}) VALUES (${keys.map((k) => '@' + k).join(', ')}) RETURNING *`)
      .get(all) as JobRow;
    return rowToJob<DATA>(row);
  }

  /**
   * One row per name for `every()` / `type: 'single'` jobs. A due (past) nextRunAt does not overwrite
   * the stored one, so re-registering a repeating job at startup does not make it run again.
   */
  private saveSingle<DATA>(cols: Record<string, unknown>, nextRunAt: Date | null): JobParameters<DATA> {
    const protect = nextRunAt !== null && nextRunAt.getTime() <= Date.now();
    const all = { id: randomUUID(), ...cols };
    const keys = Object.keys(all);
    const updates = keys
      .filter((k) => k !== 'id' && k !== 'name' && k !== 'type' && k !== 'fail_reason' && k !== 'fail_count' && k !== 'failed_at')
      .map((k) => (k === 'next_run_at' && protect ? 'next_run_at = COALESCE(agenda_jobs.next_run_at, excluded.next_run_at)' : `${k} = excluded.${k}`));
    const row = this.db()
      .prepare(
        `INSERT INTO agenda_jobs (${keys.join(', ')}) VALUES (${keys.map((k) => '@' + k).join(', ')})
         ON CONFLICT (name) WHERE type = 'single' DO UPDATE SET ${updates.join(', ')} RETURNING *`,
      )
      .get(all) as JobRow;
    return rowToJob<DATA>(row);
  }

  /** `job.unique(query, opts)`: update the matching job (or keep it, with insertOnly), else insert; with optional debounce. */
  private saveUnique<DATA>(job: JobParameters<DATA>, cols: Record<string, unknown>): JobParameters<DATA> {
    const db = this.db();
    const conditions = ['name = ?'];
    const params: unknown[] = [job.name];
    for (const [key, value] of Object.entries(job.unique ?? {})) {
      if (key.startsWith('data.')) {
        conditions.push('json_extract(data, ?) = ?');
        params.push('$.' + key.slice(5), typeof value === 'object' && value !== null ? JSON.stringify(value) : typeof value === 'boolean' ? Number(value) : value);
      } else if (key === 'data') {
        conditions.push('data = ?');
        params.push(JSON.stringify(value));
      } else {
        conditions.push(`${key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()).replace(/[^a-z_]/g, '')} = ?`);
        params.push(value instanceof Date ? value.getTime() : value);
      }
    }
    const debounce = job.uniqueOpts?.debounce;
    return db.transaction(() => {
      const existing = db.prepare(`SELECT * FROM agenda_jobs WHERE ${conditions.join(' AND ')} LIMIT 1`).get(...params) as JobRow | undefined;
      const now = Date.now();
      if (!existing) {
        if (!debounce) return this.insert<DATA>(cols);
        // Trailing debounce runs `delay` after the first save; leading runs at once.
        const next = debounce.strategy === 'leading' ? cols.next_run_at : now + debounce.delay;
        return this.insert<DATA>({ ...cols, next_run_at: next, debounce_started_at: now });
      }
      if (job.uniqueOpts?.insertOnly && !debounce) return rowToJob<DATA>(existing);
      let next = cols.next_run_at;
      let debounceStartedAt: number | null = null;
      if (debounce) {
        const started = existing.debounce_started_at ?? now;
        if (debounce.strategy === 'leading') {
          next = existing.next_run_at;
          debounceStartedAt = started;
        } else if (debounce.maxWait !== undefined && now - started >= debounce.maxWait) {
          next = now;
        } else {
          next = now + debounce.delay;
          debounceStartedAt = started;
        }
      }
      const update: Record<string, unknown> = { ...cols, next_run_at: next, debounce_started_at: debounceStartedAt };
      delete update.name;
      delete update.fail_reason;
      delete update.fail_count;
      delete update.failed_at;
      const row = db
        .prepare(`UPDATE agenda_jobs SET ${assignments(update)} WHERE id = @id RETURNING *`)
        .get({ ...update, id: existing.id }) as JobRow;
      return rowToJob<DATA>(row);
    }).immediate();
  }
}
