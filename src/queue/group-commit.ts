import type Database from 'better-sqlite3';
import type { Db } from '../store/sqlite.js';
import { COUNTER_ROW_ID, EventBatch } from './events.js';

/** An operation on one queue: runs inside a transaction, records its events in `ev`. */
export type Operation<T> = (ev: EventBatch, now: number) => T;

interface Pending {
  queue: string;
  fn: Operation<unknown>;
  keepsDelayed: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface QueueSlot {
  events: string[][];
  wake: boolean;
}

interface BatchOutcome {
  results: { ok: boolean; value: unknown }[];
  perQueue: Map<string, QueueSlot>;
}

/**
 * How long a run of microtask flushes may keep the event loop from turning before the next flush
 * waits for the end of the turn: due timers (a worker waiting for a delayed job) wait this long
 * at most for it.
 */
const MAX_MICRO_RUN_MS = 1;

/** Called after a batch commits, once per queue it touched. */
export type AfterCommit = (queue: string, hadEvents: boolean, wakeWorkers: boolean) => void;

/**
 * Group commit for job-store writes: operations issued together (50 workers finishing jobs in
 * one event-loop turn, a burst of adds) share one IMMEDIATE transaction and one commit. Events of
 * a batch are written as one row per queue.
 *
 * One failing operation must not undo the others. Savepoints give that, but cost two statements
 * per operation, and operations rarely fail; so a batch first runs without them, and only when an
 * operation throws is the whole transaction rolled back and the batch run again with each
 * operation in its own savepoint. Operations are functions of the store's state (no JS state
 * survives a run that is rolled back), so nothing of the first run is seen.
 *
 * A lone operation is flushed in a microtask (no added latency); once batches carry more than
 * one operation, flushing waits for the end of the event-loop turn so the batch can fill. Callers
 * that chain operations through promise reactions (workers finishing a job and handed the next)
 * would otherwise each meet an empty microtask flush and commit alone, and keep timers and I/O
 * from running meanwhile: a run of microtask flushes lasts {@link MAX_MICRO_RUN_MS} at most, then
 * a flush waits for the end of the turn (where the batch fills, if callers were many).
 */
export class GroupCommit {
  private pending: Pending[] = [];
  /** Increases with every flushed batch; lets operations cache reads for one batch. */
  batchId = 0;
  /**
   * Queues whose due delayed jobs were all promoted in batch `batchId` (the value), so a claim
   * later in the same batch (same `now`) need not look again. Cleared before every operation
   * that may make a delayed job due; only those run with `keepsDelayed` keep it.
   */
  readonly duePromoted = new Map<string, number>();
  private scheduled = false;
  private lastBatch = 1;
  /** When the current run of microtask flushes began (undefined: the event loop has turned since). */
  private microRunStart: number | undefined;
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
    /** Called when writes are rolled back: whatever JS state was derived from them is stale. */
    private readonly onRollback: () => void = () => undefined,
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

  /** `keepsDelayed`: `fn` neither adds delayed jobs nor moves any delayed job's due time. */
  run<T>(queue: string, fn: Operation<T>, keepsDelayed = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ queue, fn, keepsDelayed, resolve: resolve as (v: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      if (this.lastBatch > 1 || this.microRunExpired()) setImmediate(() => this.flush());
      else queueMicrotask(() => this.flush());
    });
  }

  private microRunExpired(): boolean {
    const now = performance.now();
    if (this.microRunStart === undefined) {
      this.microRunStart = now;
      // Runs once the current turn's microtasks are done, i.e. when the loop has turned.
      setImmediate(() => (this.microRunStart = undefined));
      return false;
    }
    return now - this.microRunStart > MAX_MICRO_RUN_MS;
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    this.lastBatch = batch.length;
    if (batch.length === 0) return;
    const outcome = this.runBatch(batch, Date.now(), false);
    for (const [queue, q] of outcome.perQueue) this.afterCommit(queue, q.events.length > 0, q.wake);
    batch.forEach((p, i) => {
      const r = outcome.results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.value);
    });
  }

  /**
   * Runs `batch` in one transaction and commits it. Without `isolate`, the first operation that
   * throws rolls the whole transaction back and the batch runs again isolated (a lone operation's
   * failure is its own: it is simply rejected); isolated, each operation runs in a savepoint and
   * a failing one is undone alone.
   */
  private runBatch(batch: Pending[], now: number, isolate: boolean): BatchOutcome {
    this.batchId++;
    const results: { ok: boolean; value: unknown }[] = [];
    const perQueue = new Map<string, QueueSlot>();
    const slot = (queue: string): QueueSlot => {
      let q = perQueue.get(queue);
      if (!q) perQueue.set(queue, (q = { events: [], wake: false }));
      return q;
    };
    try {
      this.begin.run();
    } catch (err) {
      return { results: batch.map(() => ({ ok: false, value: err })), perQueue: new Map() };
    }
    try {
      for (const p of batch) {
        const ev = new EventBatch();
        if (!p.keepsDelayed) this.duePromoted.clear();
        if (isolate) this.savepoint.run();
        try {
          const value = p.fn(ev, now);
          if (isolate) this.release.run();
          results.push({ ok: true, value });
        } catch (err) {
          if (!isolate) {
            // (An error SQLite answers with a rollback of its own has already ended it.)
            if (this.db.inTransaction) this.rollback.run();
            this.onRollback();
            return batch.length === 1 ? { results: [{ ok: false, value: err }], perQueue: new Map() } : this.runBatch(batch, now, true);
          }
          this.rollbackTo.run();
          this.release.run();
          this.onRollback();
          results.push({ ok: false, value: err });
          continue;
        }
        const own = slot(p.queue);
        for (const e of ev.events) own.events.push(e);
        if (ev.wakeWorkers) own.wake = true;
        for (const [queue, events] of ev.elsewhere) slot(queue).events.push(...events);
        for (const queue of ev.wakeElsewhere) slot(queue).wake = true;
      }
      for (const [queue, q] of perQueue) {
        if (q.events.length > 0) this.insertEvents.run({ q: queue, floor: now * 1000, e: JSON.stringify(q.events) });
      }
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      this.onRollback();
      return { results: batch.map(() => ({ ok: false, value: err })), perQueue: new Map() };
    }
    return { results, perQueue };
  }
}
