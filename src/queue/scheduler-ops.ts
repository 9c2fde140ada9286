import type { JobJson, JobsOptions, RepeatableOptions } from 'bullmq';
import { ErrorCode } from 'bullmq';
import type { QueueOps } from './queue-ops.js';
import type { EventBatch } from './events.js';
import { finishedError } from './errors.js';

interface SchedulerRow {
  scheduler_id: string;
  next_millis: number | null;
  fields: string;
}

/** BullMQ's scheduler options as the backend receives them (dates already in ms). */
interface SchedulerOpts {
  name?: string;
  tz?: string;
  pattern?: string;
  every?: number;
  limit?: number;
  startDate?: number;
  endDate?: number;
  offset?: number | null;
}

/**
 * Job schedulers (BullMQ's `upsertJobScheduler`): one row per scheduler holding its metadata
 * hash and next run, and at most one pending iteration job `repeat:<id>:<millis>`. BullMQ
 * computes cron times itself (cron-parser); `every` schedules are aligned here, in the same
 * transaction that stores the iteration, as Redis does in its script.
 */
export class SchedulerOps {
  constructor(private readonly ops: QueueOps) {}

  private get store() {
    return this.ops.store;
  }

  private row(id: string): SchedulerRow | undefined {
    return this.store
      .stmt('SELECT scheduler_id, next_millis, fields FROM jobs_scheduler WHERE queue = ? AND scheduler_id = ?')
      .get(this.ops.queue, id) as SchedulerRow | undefined;
  }

  add(
    id: string,
    nextMillisIn: number,
    templateData: string,
    templateOpts: JobsOptions,
    opts: RepeatableOptions,
    delayedOpts: JobsOptions,
    _producerId?: string,
  ): Promise<[string, number]> {
    const so = opts as unknown as SchedulerOpts;
    return this.ops.write((ev, now) => {
      const prev = this.row(id);
      const prevMillis = prev?.next_millis ?? null;
      const prevFields = prev ? (JSON.parse(prev.fields) as Record<string, string>) : {};
      let nextMillis = nextMillisIn;
      const offsetIn = so.offset ?? (delayedOpts as { repeat?: { offset?: number } }).repeat?.offset ?? 0;
      let offset = offsetIn;
      let updatedEvery = false;
      if (so.every) {
        let millis = prevMillis;
        if (prevMillis !== null && Number(prevFields['every']) !== so.every) {
          millis = null;
          updatedEvery = true;
        }
        [nextMillis, offset] = everyNextMillis(millis, so.every, now, offsetIn, so.startDate);
      }
      let removedPrev = false;
      if (prevMillis !== null) removedPrev = this.removePendingIteration(ev, `repeat:${id}:${prevMillis}`);
      const fields: SchedulerOpts = { ...so };
      if (removedPrev) {
        if (so.every && !updatedEvery) nextMillis = prevMillis!;
      } else {
        fields.offset = offset;
      }
      let jobId = `repeat:${id}:${nextMillis}`;
      let collision = false;
      if (this.ops.row(jobId)) {
        if (so.every) {
          let scanned = 0;
          while (this.ops.row(jobId) && scanned < 32) {
            nextMillis += so.every;
            jobId = `repeat:${id}:${nextMillis}`;
            scanned++;
          }
          if (this.ops.row(jobId)) throw finishedError({ code: ErrorCode.SchedulerJobSlotsBusy, command: 'addJobScheduler' });
        } else {
          collision = true;
        }
      }
      if (collision && !removedPrev) throw finishedError({ code: ErrorCode.SchedulerJobIdCollision, command: 'addJobScheduler' });
      const delay = Math.max(nextMillis - now, 0);
      this.storeScheduler(id, nextMillis, fields, templateData, templateOpts, prevFields['ic'] ?? '1');
      this.enqueue(ev, jobId, delayedOpts, so.name ?? prevFields['name'] ?? '', templateData, id, delay, now);
      return [jobId, delay];
    });
  }

  updateNext(id: string, nextMillisIn: number, _templateData: string, delayedOpts: JobsOptions, producerId?: string): Promise<string | null> {
    return this.ops.write((ev, now) => {
      const prev = this.row(id);
      if (!prev || prev.next_millis === null) return null;
      const fields = JSON.parse(prev.fields) as Record<string, string>;
      let nextMillis = nextMillisIn;
      let every = fields['every'] ? Number(fields['every']) : undefined;
      const repeat = (delayedOpts as { repeat?: { every?: number; offset?: number } }).repeat;
      if (every === undefined && repeat?.every) every = Number(repeat.every);
      if (every) {
        const offset = fields['offset'] !== undefined ? Number(fields['offset']) : (repeat?.offset ?? 0);
        const [n, newOffset] = everyNextMillis(prev.next_millis, every, now, offset, fields['startDate'] ? Number(fields['startDate']) : undefined);
        nextMillis = n;
        if (fields['offset'] === undefined) {
          fields['offset'] = String(newOffset);
          if (repeat) repeat.offset = newOffset;
        }
      }
      const nextJobId = `repeat:${id}:${nextMillis}`;
      // Only the iteration that is being processed may schedule its successor, once.
      if (producerId !== `repeat:${id}:${prev.next_millis}`) return null;
      if (this.ops.row(nextJobId)) {
        ev.push('duplicated', { jobId: nextJobId });
        return null;
      }
      fields['ic'] = String(Number(fields['ic'] ?? '0') + 1);
      this.store
        .stmt('UPDATE jobs_scheduler SET next_millis = ?, fields = ? WHERE queue = ? AND scheduler_id = ?')
        .run(nextMillis, JSON.stringify(fields), this.ops.queue, id);
      const delay = Math.max(nextMillis - now, 0);
      this.enqueue(ev, nextJobId, delayedOpts, fields['name'] ?? '', fields['data'] ?? '{}', id, delay, now);
      return nextJobId;
    });
  }

  remove(id: string): Promise<number> {
    return this.ops.write((ev) => {
      const prev = this.row(id);
      if (!prev) return 1;
      if (prev.next_millis !== null) this.removePendingIteration(ev, `repeat:${id}:${prev.next_millis}`, 'delayed');
      this.store.stmt('DELETE FROM jobs_scheduler WHERE queue = ? AND scheduler_id = ?').run(this.ops.queue, id);
      return 0;
    });
  }

  get(id: string): [string[] | null, string | null] {
    const r = this.row(id);
    if (!r) return [null, null];
    const flat: string[] = [];
    for (const [k, v] of Object.entries(JSON.parse(r.fields) as Record<string, string>)) flat.push(k, v);
    return [flat, r.next_millis === null ? null : String(r.next_millis)];
  }

  data(id: string): Record<string, string> {
    const r = this.row(id);
    return r ? (JSON.parse(r.fields) as Record<string, string>) : {};
  }

  range(start: number, end: number, asc: boolean): string[] {
    const limit = end < 0 ? -1 : end - start + 1;
    const rows = this.store
      .stmt(`SELECT scheduler_id, next_millis FROM jobs_scheduler WHERE queue = ? ORDER BY next_millis ${asc ? 'ASC' : 'DESC'}, scheduler_id LIMIT ? OFFSET ?`)
      .all(this.ops.queue, limit, Math.max(start, 0)) as SchedulerRow[];
    return rows.flatMap((r) => [r.scheduler_id, String(r.next_millis)]);
  }

  count(): number {
    return (this.store.stmt('SELECT count(*) AS n FROM jobs_scheduler WHERE queue = ?').get(this.ops.queue) as { n: number }).n;
  }

  /** Removes the scheduler's pending iteration if it has not started; true when removed. */
  private removePendingIteration(ev: EventBatch, jobId: string, emitPrev?: string): boolean {
    const r = this.ops.row(jobId);
    if (!r || (r.state !== 'delayed' && r.state !== 'waiting')) return false;
    this.store.stmt('DELETE FROM jobs_job WHERE rid = ?').run(r.rid);
    if (emitPrev && r.state === emitPrev) ev.push('removed', { jobId, prev: emitPrev });
    return true;
  }

  private storeScheduler(id: string, nextMillis: number, o: SchedulerOpts, templateData: string, templateOpts: JobsOptions, ic: string): void {
    const f: Record<string, string> = { name: o.name ?? '' };
    if (o.tz) f['tz'] = o.tz;
    if (o.limit) f['limit'] = String(o.limit);
    if (o.pattern) f['pattern'] = o.pattern;
    if (o.startDate) f['startDate'] = String(o.startDate);
    if (o.endDate) f['endDate'] = String(o.endDate);
    if (o.every) f['every'] = String(o.every);
    if (o.offset) f['offset'] = String(o.offset);
    else {
      const prev = this.row(id);
      const prevOffset = prev ? (JSON.parse(prev.fields) as Record<string, string>)['offset'] : undefined;
      if (prevOffset !== undefined) f['offset'] = prevOffset;
    }
    const opts = JSON.stringify(templateOpts ?? {});
    if (opts !== '{}') f['opts'] = opts;
    if (templateData && templateData !== '{}') f['data'] = templateData;
    f['ic'] = ic;
    this.store
      .stmt('INSERT OR REPLACE INTO jobs_scheduler (queue, scheduler_id, next_millis, fields) VALUES (?, ?, ?, ?)')
      .run(this.ops.queue, id, nextMillis, JSON.stringify(f));
  }

  private enqueue(ev: EventBatch, jobId: string, opts: JobsOptions, name: string, data: string, schedulerId: string, delay: number, now: number): void {
    const { seq } = this.ops.reserve(1, 1);
    const job: JobJson = {
      id: jobId,
      name,
      data,
      opts: { ...opts, delay, jobId },
      progress: 0,
      attemptsMade: 0,
      attemptsStarted: 0,
      timestamp: now,
      failedReason: '',
      returnvalue: 'null',
      stalledCounter: 0,
      repeatJobKey: schedulerId,
    };
    this.ops.insertJob(ev, job, jobId, seq, now);
  }
}

/** Next run of an `every` schedule, aligned to the offset within each period (Redis's rules). */
export function everyNextMillis(prevMillis: number | null, every: number, now: number, offsetIn: number | null, startDate?: number): [number, number] {
  let offset = offsetIn ?? 0;
  let next: number;
  if (prevMillis === null) {
    if (startDate) next = Math.max(startDate, now);
    else if (offset > 0) {
      next = Math.floor(now / every) * every + offset;
      if (next <= now) next += every;
    } else next = now;
  } else {
    next = prevMillis + every;
    if (next < now) {
      const aligned = Math.floor(now / every) * every + offset;
      next = aligned <= now ? aligned + every : aligned;
    }
  }
  if (!offset) offset = next - Math.floor(next / every) * every;
  return [Math.floor(next), Math.floor(offset)];
}
