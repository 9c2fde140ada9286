import type Database from 'better-sqlite3';
import type { Db } from '../store/sqlite.js';
import { COUNTER_ROW_ID, EventBatch } from './events.js';

/** An operation on one queue: runs inside a transaction, records its events in `ev`. */
export type Operation<T> = (ev: EventBatch, now: number) => T;

interface Pending {
  queue: string;
  fn: Operation<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Called after a batch commits, once per queue it touched. */
export type AfterCommit = (queue: string, hadEvents: boolean, wakeWorkers: boolean) => void;

/**
 * Group commit for job-store writes: operations issued together (50 workers finishing jobs in
 * one event-loop turn, a burst of adds) share one IMMEDIATE transaction and one commit, each in
 * its own savepoint so one failing operation does not undo the others. Events of a batch are
 * written as one row per queue.
 *
 * A lone operation is flushed in a microtask (no added latency); once batches carry more than
 * one operation, flushing waits for the end of the event-loop turn so the batch can fill.
 */
export class GroupCommit {
  private pending: Pending[] = [];
  /** Increases with every flushed batch; lets operations cache reads for one batch. */
  batchId = 0;
  private scheduled = false;
  private lastBatch = 1;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;
  private readonly insertEvents: Database.Statement;

  constructor(
    private readonly db: Db,
    private readonly afterCommit: AfterCommit,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT op');
    this.release = db.prepare('RELEASE op');
    this.rollbackTo = db.prepare('ROLLBACK TO op');
    // The id is the later of "now" in microseconds and the queue's last id + 1 (see schema V3).
    this.insertEvents = db.prepare(
      `INSERT INTO jobs_event (queue, id, events)
       VALUES (@q, max(@floor, coalesce((SELECT max(id) FROM jobs_event WHERE queue = @q AND id < ${COUNTER_ROW_ID}), 0) + 1), @e)`,
    );
  }

  run<T>(queue: string, fn: Operation<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ queue, fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      if (this.lastBatch > 1) setImmediate(() => this.flush());
      else queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    this.lastBatch = batch.length;
    if (batch.length === 0) return;
    this.batchId++;
    const results: { ok: boolean; value: unknown }[] = [];
    const perQueue = new Map<string, { events: string[][]; wake: boolean }>();
    try {
      this.begin.run();
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    try {
      const now = Date.now();
      // A lone operation needs no savepoint: if it fails, rolling back the transaction undoes it.
      const isolate = batch.length > 1;
      for (const p of batch) {
        const ev = new EventBatch();
        if (isolate) this.savepoint.run();
        try {
          const value = p.fn(ev, now);
          if (isolate) this.release.run();
          results.push({ ok: true, value });
          const slot = (queue: string): { events: string[][]; wake: boolean } => {
            let q = perQueue.get(queue);
            if (!q) perQueue.set(queue, (q = { events: [], wake: false }));
            return q;
          };
          const own = slot(p.queue);
          for (const e of ev.events) own.events.push(e);
          if (ev.wakeWorkers) own.wake = true;
          for (const [queue, events] of ev.elsewhere) slot(queue).events.push(...events);
          for (const queue of ev.wakeElsewhere) slot(queue).wake = true;
        } catch (err) {
          if (!isolate) throw err;
          this.rollbackTo.run();
          this.release.run();
          results.push({ ok: false, value: err });
        }
      }
      for (const [queue, q] of perQueue) {
        if (q.events.length > 0) this.insertEvents.run({ q: queue, floor: now * 1000, e: JSON.stringify(q.events) });
      }
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      for (const p of batch) p.reject(err);
      return;
    }
    for (const [queue, q] of perQueue) this.afterCommit(queue, q.events.length > 0, q.wake);
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.value);
    });
  }
}
