/** Agenda's JobLogger (persistent job event log) in the agenda_logs table. */
import type { JobLogEntry, JobLogger, JobLogQuery, JobLogQueryResult } from 'agenda';
import type { Db } from '../../store/sqlite.js';

interface LogRow {
  id: number;
  timestamp: number;
  level: JobLogEntry['level'];
  event: JobLogEntry['event'];
  job_id: string | null;
  job_name: string;
  message: string;
  duration: number | null;
  error: string | null;
  fail_count: number | null;
  retry_delay: number | null;
  retry_attempt: number | null;
  agenda_name: string | null;
  meta: string | null;
}

function toEntry(r: LogRow): JobLogEntry {
  const e: JobLogEntry = { _id: String(r.id), timestamp: new Date(r.timestamp), level: r.level, event: r.event, jobName: r.job_name, message: r.message };
  if (r.job_id !== null) e.jobId = r.job_id;
  if (r.duration !== null) e.duration = r.duration;
  if (r.error !== null) e.error = r.error;
  if (r.fail_count !== null) e.failCount = r.fail_count;
  if (r.retry_delay !== null) e.retryDelay = r.retry_delay;
  if (r.retry_attempt !== null) e.retryAttempt = r.retry_attempt;
  if (r.agenda_name !== null) e.agendaName = r.agenda_name;
  if (r.meta !== null) e.meta = JSON.parse(r.meta) as Record<string, unknown>;
  return e;
}

function where(q: JobLogQuery): { sql: string; params: unknown[] } {
  const c: string[] = [];
  const p: unknown[] = [];
  if (q.jobId) { c.push('job_id = ?'); p.push(q.jobId); }
  if (q.jobName) { c.push('job_name = ?'); p.push(q.jobName); }
  for (const [col, v] of [['level', q.level], ['event', q.event]] as const) {
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    c.push(`${col} IN (${list.map(() => '?').join(',')})`);
    p.push(...list);
  }
  if (q.from) { c.push('timestamp >= ?'); p.push(q.from.getTime()); }
  if (q.to) { c.push('timestamp <= ?'); p.push(q.to.getTime()); }
  return { sql: c.length > 0 ? c.join(' AND ') : '1', params: p };
}

export class SqliteJobLogger implements JobLogger {
  constructor(private readonly db: () => Db) {}

  async log(entry: Omit<JobLogEntry, '_id'>): Promise<void> {
    this.db()
      .prepare(
        `INSERT INTO agenda_logs (timestamp, level, event, job_id, job_name, message, duration, error, fail_count, retry_delay, retry_attempt, agenda_name, meta)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        new Date(entry.timestamp).getTime(), entry.level, entry.event, entry.jobId ?? null, entry.jobName, entry.message,
        entry.duration ?? null, entry.error ?? null, entry.failCount ?? null, entry.retryDelay ?? null, entry.retryAttempt ?? null,
        entry.agendaName ?? null, entry.meta ? JSON.stringify(entry.meta) : null,
      );
  }

  async getLogs(query: JobLogQuery = {}): Promise<JobLogQueryResult> {
    const w = where(query);
    const db = this.db();
    const total = (db.prepare(`SELECT count(*) AS n FROM agenda_logs WHERE ${w.sql}`).get(...w.params) as { n: number }).n;
    const dir = query.sort === 'asc' ? 'ASC' : 'DESC';
    const rows = db
      .prepare(`SELECT * FROM agenda_logs WHERE ${w.sql} ORDER BY timestamp ${dir}, id ${dir} LIMIT ? OFFSET ?`)
      .all(...w.params, query.limit ?? 50, query.offset ?? 0) as LogRow[];
    return { entries: rows.map(toEntry), total };
  }

  async clearLogs(query: JobLogQuery = {}): Promise<number> {
    const w = where(query);
    return this.db().prepare(`DELETE FROM agenda_logs WHERE ${w.sql}`).run(...w.params).changes;
  }
}
