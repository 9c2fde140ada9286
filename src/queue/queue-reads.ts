import type { JobJson } from 'bullmq';
import type { JobStore } from './store.js';
import { JOB_ROW_SQL, rowToJobJson, type JobRow } from './job-row.js';
import { listRange, publicState } from './queue-ops.js';
import { COUNTER_ROW_ID, LATEST_EVENT_SQL, decodeEvents, parseEventId } from './events.js';

// Built once: `store.stmt` looks statements up by their text.
// The limit is part of the text: bound as `LIMIT ?`, the statement measured several µs more per
// call, and a QueueEvents listener runs it after every commit it hears of.
const EVENTS_AFTER_SQL = new Map<number, string>();
const eventsAfterSql = (limit: number): string => {
  let sql = EVENTS_AFTER_SQL.get(limit);
  if (sql === undefined) {
    sql = `SELECT id, events FROM jobs_event WHERE queue = ? AND id >= ? AND id < ${COUNTER_ROW_ID} ORDER BY id LIMIT ${Math.trunc(limit)}`;
    EVENTS_AFTER_SQL.set(limit, sql);
  }
  return sql;
};

/** One stream entry as Redis XREAD returns it: `[id, [field, value, ...]]`. */
export type StreamEntry = [string, string[]];

/** Reads of one queue; none of them write, so none takes the write lock. */
export class QueueReads {
  constructor(
    readonly store: JobStore,
    readonly queue: string,
  ) {}

  job(id: string): JobJson | undefined {
    const row = this.store.stmt(JOB_ROW_SQL).get(this.queue, id) as JobRow | undefined;
    return row ? rowToJobJson(row) : undefined;
  }

  state(id: string): string {
    const row = this.store.stmt('SELECT state, priority FROM jobs_job WHERE queue = ? AND id = ?').get(this.queue, id) as
      | Pick<JobRow, 'state' | 'priority'>
      | undefined;
    if (!row) return 'unknown';
    if (row.state === 'waiting') return row.priority > 0 ? 'prioritized' : 'waiting';
    return row.state;
  }

  /** 0 unfinished, 1 completed, 2 failed, -1 missing; with the return value or failure reason. */
  finished(id: string): [number, string] {
    const row = this.store.stmt('SELECT state, returnvalue, failed_reason FROM jobs_job WHERE queue = ? AND id = ?').get(this.queue, id) as
      | Pick<JobRow, 'state' | 'returnvalue' | 'failed_reason'>
      | undefined;
    if (!row) return [-1, `Missing key for job ${this.queue}:${id}. isFinished`];
    if (row.state === 'completed') return [1, row.returnvalue ?? 'null'];
    if (row.state === 'failed') return [2, row.failed_reason ?? ''];
    return [0, ''];
  }

  inState(state: string, id: string): boolean {
    const row = this.store.stmt('SELECT state, priority FROM jobs_job WHERE queue = ? AND id = ?').get(this.queue, id) as
      | Pick<JobRow, 'state' | 'priority'>
      | undefined;
    if (!row) return false;
    const s = publicState(row);
    // BullMQ 6 pauses with a flag and leaves jobs in wait; its 'paused' list is legacy and empty.
    if (state === 'wait' || state === 'waiting') return s === 'wait';
    if (state === 'paused') return false;
    return s === state;
  }

  counts(types: readonly string[], delayedBefore?: number): number[] {
    const rows = this.store
      .stmt('SELECT state, priority > 0 AS p, count(*) AS n FROM jobs_job WHERE queue = ? GROUP BY state, p')
      .all(this.queue) as { state: string; p: number; n: number }[];
    const c: Record<string, number> = {};
    for (const r of rows) {
      const key = r.state === 'waiting' ? (r.p ? 'prioritized' : 'wait') : r.state;
      c[key] = (c[key] ?? 0) + r.n;
    }
    let delayed = c['delayed'] ?? 0;
    if (delayedBefore !== undefined) {
      delayed = (this.store
        .stmt("SELECT count(*) AS n FROM jobs_job WHERE queue = ? AND state = 'delayed' AND process_at < ?")
        .get(this.queue, delayedBefore) as { n: number }).n;
    }
    return types.map((t) => {
      switch (t) {
        case 'wait':
        case 'waiting':
          return c['wait'] ?? 0;
        case 'paused':
          // BullMQ 6 pauses with a flag and leaves jobs in wait; its 'paused' list is legacy and empty.
          return 0;
        case 'delayed':
          return delayed;
        default:
          return c[t] ?? 0;
      }
    });
  }

  countsPerPriority(priorities: readonly number[]): number[] {
    const s = this.store.stmt("SELECT count(*) AS n FROM jobs_job WHERE queue = ? AND state = 'waiting' AND priority = ?");
    return priorities.map((p) => (s.get(this.queue, p) as { n: number }).n);
  }

  /**
   * Ids per state in Redis's order. wait/paused/active are Redis lists (newest at the head) and
   * BullMQ reverses list results itself when `asc` is asked, so for those the page is taken
   * from the oldest end but returned newest first; the others are sorted sets.
   */
  ranges(types: readonly string[], start: number, end: number, asc: boolean): string[][] {
    return types.map((t) => {
      switch (t) {
        case 'wait':
        case 'waiting':
          return this.listPage("state = 'waiting' AND priority = 0", 'seq', start, end, asc);
        case 'paused':
          return [];
        case 'active':
          return this.listPage("state = 'active'", 'processed_on, rid', start, end, asc);
        case 'prioritized':
          return this.setPage("state = 'waiting' AND priority > 0", ['priority', 'seq'], start, end, asc);
        case 'delayed':
          return this.setPage("state = 'delayed'", ['process_at', 'seq'], start, end, asc);
        case 'completed':
          return this.setPage("state = 'completed'", ['finished_on', 'rid'], start, end, asc);
        case 'failed':
          return this.setPage("state = 'failed'", ['finished_on', 'rid'], start, end, asc);
        case 'waiting-children':
          return this.setPage("state = 'waiting-children'", ['timestamp', 'rid'], start, end, asc);
        default:
          return [];
      }
    });
  }

  private ordered(where: string, order: string, start: number, end: number): string[] {
    if (start >= 0 && end >= -1) {
      const limit = end === -1 ? -1 : end - start + 1;
      if (limit === 0 || limit < -1) return [];
      return (this.store
        .stmt(`SELECT id FROM jobs_job WHERE queue = ? AND ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(this.queue, limit, start) as { id: string }[]).map((r) => r.id);
    }
    const all = (this.store.stmt(`SELECT id FROM jobs_job WHERE queue = ? AND ${where} ORDER BY ${order}`).all(this.queue) as { id: string }[]).map((r) => r.id);
    return listRange(all, start, end);
  }

  private listPage(where: string, cols: string, start: number, end: number, asc: boolean): string[] {
    const desc = cols.split(',').map((c) => `${c.trim()} DESC`).join(', ');
    if (!asc) return this.ordered(where, desc, start, end);
    return this.ordered(where, cols, start, end).reverse();
  }

  private setPage(where: string, cols: readonly string[], start: number, end: number, asc: boolean): string[] {
    const order = cols.map((c) => `${c} ${asc ? 'ASC' : 'DESC'}`).join(', ');
    return this.ordered(where, order, start, end);
  }

  logs(id: string, start: number, end: number, asc: boolean): { logs: string[]; count: number } {
    const count = (this.store.stmt('SELECT count(*) AS n FROM jobs_log WHERE queue = ? AND job_id = ?').get(this.queue, id) as { n: number }).n;
    const from = start < 0 ? Math.max(count + start, 0) : start;
    const to = end < 0 ? count + end : end;
    if (to < from) return { logs: [], count };
    const rows = this.store
      .stmt(`SELECT row FROM jobs_log WHERE queue = ? AND job_id = ? ORDER BY idx ${asc ? 'ASC' : 'DESC'} LIMIT ? OFFSET ?`)
      .all(this.queue, id, to - from + 1, from) as { row: string }[];
    return { logs: rows.map((r) => r.row), count };
  }

  isMaxed(): boolean {
    const c = this.store.stmt("SELECT value FROM jobs_meta WHERE queue = ? AND field = 'concurrency'").get(this.queue) as { value: string } | undefined;
    if (!c) return false;
    const n = (this.store.stmt("SELECT count(*) AS n FROM jobs_job WHERE queue = ? AND state = 'active'").get(this.queue) as { n: number }).n;
    return n >= Number(c.value);
  }

  meta(): Record<string, string> {
    const rows = this.store.stmt('SELECT field, value FROM jobs_meta WHERE queue = ?').all(this.queue) as { field: string; value: string }[];
    const out: Record<string, string> = {};
    for (const r of rows) out[r.field] = r.value;
    return out;
  }

  metaField(field: string): string | null {
    const r = this.store.stmt('SELECT value FROM jobs_meta WHERE queue = ? AND field = ?').get(this.queue, field) as { value: string } | undefined;
    return r ? r.value : null;
  }

  dedupJobId(dedupId: string): string | null {
    const r = this.store.stmt('SELECT job_id, expire_at FROM jobs_dedup WHERE queue = ? AND dedup_id = ?').get(this.queue, dedupId) as
      | { job_id: string; expire_at: number | null }
      | undefined;
    if (!r || (r.expire_at !== null && r.expire_at <= Date.now())) return null;
    return r.job_id;
  }

  /** The position just after the newest event: what Redis means by `$`. */
  latestEventId(): string {
    const r = this.store.stmt(LATEST_EVENT_SQL).get(this.queue) as { m: number | null };
    return r.m === null ? '0-0' : `${r.m}`;
  }

  /** Up to ~`limit` events after `cursor`, each with its own `<row>-<index>` id. */
  eventsAfter(cursor: string, limit: number): StreamEntry[] {
    const { row, index } = parseEventId(cursor);
    const rows = this.store
      .stmt(eventsAfterSql(limit))
      .all(this.queue, row) as { id: number; events: string | Buffer }[];
    const out: StreamEntry[] = [];
    for (const r of rows) {
      const events = decodeEvents(r.events);
      for (let i = 0; i < events.length; i++) {
        if (r.id === row && i <= index) continue;
        out.push([`${r.id}-${i}`, events[i]!]);
      }
    }
    return out;
  }
}
