import type Database from 'better-sqlite3';
import type { Db } from '../store/sqlite.js';
import { EventBatch, LATEST_EVENT_SQL, encodeEvents } from './events.js';

/** An operation on one queue: runs inside a transaction, records its events in `ev`. */
export type Operation<T> = (ev: EventBatch, now: number) => T;

/** What an operation may do, for the batch's shared state (see {@link GroupCommit.run}). */
export interface OpTraits {
  /** A claim or a completion: neither adds delayed jobs nor moves any delayed job's due time. */
  readonly keepsDelayed?: boolean;
  /** May claim a job of its queue (sizes read-ahead). */
  readonly claims?: boolean;
  /** A plain claim, which BullMQ's Worker issues one at a time (see {@link GroupCommit.lastBatch}). */
  readonly lone?: boolean;
  /** Takes ordering numbers from {@link GroupCommit.seqAhead} (an immediate retry). */
  readonly takesSeq?: boolean;
  /**
   * Nobody waits for it (a prefetched job's hand-out): it waits for the end of the event-loop
   * turn, to ride with whatever the turn issues (the handed-out job's finish, at best).
   */
  readonly background?: boolean;
}

const NO_TRAITS: OpTraits = {};

/**
 * Deferred writes of a batch matched fewer rows than they were written for: a completion
 * deferred on the assumption that its job is still active under its token found it otherwise
 * (its lease expired and another process took it). The batch is run again in savepoints, where
 * nothing is deferred and that completion fails alone, with its reason.
 */
class DeferredShortfall extends Error {}

// A plain completion (see QueueOps.complete) of jobs found by the rowid their claim read; queue,
// id, state and token are still checked. One row: values are the return value, finish time,
// rowid, queue, id, "any token" and token.
const COMPLETE_WHERE = `jobs_job.state = 'active' AND jobs_job.parent IS NULL AND jobs_job.dedup_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM jobs_dep WHERE parent_queue = jobs_job.queue AND parent_id = jobs_job.id AND status IN ('pending', 'failed'))`;
const COMPLETE_ONE_SQL = `UPDATE jobs_job SET state = 'completed', returnvalue = ?, finished_on = ?, lock_token = NULL, locked_until = NULL,
                             attempts_made = attempts_made + 1
         WHERE rid = ? AND queue = ? AND id = ? AND (? OR lock_token = ?) AND ${COMPLETE_WHERE}`;

/**
 * A claim's take of the waiting row it picked: active under its token and lease, stamped with its
 * time and worker, one attempt more started. The row's `reserve` (schema V9) goes as the lease
 * comes. Parameters: token, lease end, time, worker name, rowid.
 */
export const TAKE_ONE_SQL = `UPDATE jobs_job SET state = 'active', lock_token = ?, locked_until = ?, processed_on = ?, processed_by = ?,
                             attempts_started = attempts_started + 1, reserve = NULL
         WHERE rid = ? AND state = 'waiting'`;
// The deferred takes of a batch, rows of (rid, token, lease end, worker name); the batch's time first.
const takeManySql = (rows: string): string =>
  `UPDATE jobs_job SET state = 'active', lock_token = v.column2, locked_until = v.column3, processed_on = ?,
                       processed_by = v.column4, attempts_started = attempts_started + 1, reserve = NULL
   FROM (VALUES ${rows}) AS v WHERE jobs_job.rid = v.column1 AND jobs_job.state = 'waiting'`;
// The deferred completions of a batch, rows of (rid, queue, id, return value, any token, token); finish time first.
const completeManySql = (rows: string): string =>
  `UPDATE jobs_job SET state = 'completed', returnvalue = v.column4, finished_on = ?, lock_token = NULL, locked_until = NULL,
                       attempts_made = attempts_made + 1
   FROM (VALUES ${rows}) AS v
   WHERE jobs_job.rid = v.column1 AND jobs_job.queue = v.column2 AND jobs_job.id = v.column3
     AND (v.column5 OR jobs_job.lock_token = v.column6) AND ${COMPLETE_WHERE}`;

interface Pending {
  queue: string;
  fn: Operation<unknown>;
  traits: OpTraits;
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

/** Most picked rows one claim reads ahead for the claims after it in its batch (see {@link GroupCommit.picks}). */
export const MAX_PICK_AHEAD = 64;

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
  /**
   * Claims read ahead: the first claim of a batch on a queue picks, in claim order, as many
   * waiting rows as the batch has claims left on that queue (one SELECT instead of one per
   * claim), and the claims after it take them from here, last element first. Valid only while
   * nothing but claims changed which jobs wait: emptied before every operation that is not a
   * claim or completion (they run with `keepsDelayed`), by a completion that took the general
   * path (flows, dedup), and by a claim that promoted delayed jobs.
   */
  readonly picks = new Map<string, unknown[][]>();
  /**
   * Whether claims may defer their take to {@link flushTakes}: in a batch run without
   * savepoints, where an operation's writes need not be undone alone.
   */
  deferring = false;
  /**
   * The deferred takes as the multi-row UPDATE's parameters: the batch's time (every take of a
   * batch is stamped with it, `processed_on`), then rid, token, lease end and worker name per take.
   */
  private takeArgs: unknown[] = [0];
  private readonly takeStatements: Database.Statement[] = [];
  private readonly takeOne: Database.Statement;
  /**
   * Deferred plain completions: rowid, queue, id, return value, "any token" and token per
   * completion, written together by {@link flushCompletes} (finish time: the batch's).
   */
  private completeArgs: unknown[] = [];
  private readonly completeStatements: Database.Statement[] = [];
  private readonly completeOne: Database.Statement;
  /** Per queue, how many operations of the running batch that may claim have not run yet. */
  private claimsLeft = new Map<string, number>();
  /** Per queue, how many operations of the running batch have not run yet. */
  private opsLeft = new Map<string, number>();
  /**
   * Ordering numbers (`seq`) reserved for the running batch and not used yet, per queue: the
   * first immediate retry of a batch reserves as many as the batch has operations left on its
   * queue, in one write of the counter row, and the retries after it take the next ones. Claims
   * and completions may run in between; anything that reserves numbers otherwise (past these,
   * which must then not be handed out after it) drops them, and so does every other write.
   */
  readonly seqAhead = new Map<string, { next: number; end: number }>();
  private scheduled = false;
  /**
   * Size of the last batch, except batches of one plain claim. BullMQ's Worker claims one job at
   * a time after a failed attempt (its main loop awaits each `moveToActive`), so such claims
   * commit alone between the waves of attempts finishing together; were they counted, every
   * wave would start after a batch of one and be flushed in a microtask, split into pieces (the
   * retry scenario: ~1.4 commits per job; not counted: ~1.2, CPU ~185 -> ~170 µs/job).
   */
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
  private readonly lastEventSql: Database.Statement;
  private readonly dataVersion: Database.Statement;
  /**
   * Per queue, the id of the newest event row this connection committed, so an event row's id
   * (above the queue's last) needs no b-tree seek. Valid while no other connection has committed
   * (`data_version` unchanged, {@link eventIdsVersion}): another process may have added events
   * above it. Trims and obliterate only delete rows, so a cached id above the real maximum still
   * keeps ids increasing, as they must (schema V3). Set only after a commit succeeded.
   */
  private readonly lastEventIds = new Map<string, number>();
  private eventIdsVersion = -1;
  /** The batch in which `data_version` was last read (another connection cannot commit during one). */
  private versionBatch = -1;
  /**
   * Per queue, the job-id and seq counters of its counter row as this connection last wrote or
   * read them, so reserving numbers is a plain UPDATE instead of an upsert returning them (see
   * QueueOps.reserve). Valid while no other connection has committed, like {@link lastEventIds};
   * written inside the transaction, so dropped whenever anything is rolled back.
   */
  private readonly counters = new Map<string, { id: number; seq: number }>();

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
    this.takeOne = db.prepare(TAKE_ONE_SQL);
    this.completeOne = db.prepare(COMPLETE_ONE_SQL);
    // The id is the later of "now" in microseconds and the queue's last id + 1 (see schema V3).
    this.insertEvents = db.prepare('INSERT INTO jobs_event (queue, id, events) VALUES (?, ?, ?)');
    this.lastEventSql = db.prepare(LATEST_EVENT_SQL).pluck();
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /**
   * Queues `fn` for the next batch; `traits` says what it may do (see {@link OpTraits}).
   */
  run<T>(queue: string, fn: Operation<T>, traits: OpTraits = NO_TRAITS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ queue, fn, traits, resolve: resolve as (v: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // A plain claim has no company to wait for (the Worker awaits each before the next).
      if (traits.background || (!traits.lone && this.lastBatch > 1) || this.microRunExpired()) setImmediate(() => this.flush());
      else queueMicrotask(() => this.flush());
    });
  }

  /** How many operations of the running batch that may claim on `queue`, this one included, have not finished. */
  claimsAhead(queue: string): number {
    return this.claimsLeft.get(queue) ?? 1;
  }

  /** How many operations of the running batch on `queue`, this one included, have not finished. */
  opsAhead(queue: string): number {
    return this.opsLeft.get(queue) ?? 1;
  }

  /**
   * Records a claim's take of row `rid` (picked inside this transaction, still 'waiting') to be
   * written with the batch's other takes in one statement, before the next operation that could
   * see the difference and before commit. Claims and completions may run in between: a claim
   * takes the next row read ahead or writes the deferred takes before it picks afresh; a plain
   * completion only matches an active row, so a completion of a job whose take is still
   * deferred finds nothing and takes the general path, which writes the takes first.
   */
  deferTake(rid: number, token: string, lockedUntil: number, workerName: string | null): void {
    this.takeArgs.push(rid, token, lockedUntil, workerName);
    if (this.takeArgs.length > 4 * MAX_PICK_AHEAD) this.flushTakes();
  }

  /** Writes the deferred takes: one UPDATE … FROM (VALUES …) for all of them. */
  flushTakes(): void {
    const args = this.takeArgs;
    const n = (args.length - 1) / 4;
    if (n === 0) return;
    this.takeArgs = [args[0]];
    if (n === 1) {
      // A lone take by rowid: the VALUES join costs a one-row UPDATE ~1 µs more.
      const changes = this.takeOne.run(args[2], args[3], args[0], args[4], args[1]).changes;
      if (changes !== 1) throw new Error(`deferred claim of job row ${String(args[1])} found it gone inside its transaction`);
      return;
    }
    const changes = this.valuesStatement(this.takeStatements, n, 4, takeManySql).run(...args).changes;
    // Every row was picked as waiting in this transaction and nothing has run since that could
    // change it: a shortfall is a bug, and throwing undoes the batch.
    if (changes !== n) throw new Error(`deferred claim of ${n} job rows took ${changes}`);
  }

  /**
   * Records a plain completion of row `rid` (claimed by this process, believed active under
   * `token`) to be written with the batch's other completions in one statement, before anything
   * that could see the difference: any operation that is not a claim or completion, a count of
   * active jobs, the drained check, and commit. Claims read only waiting rows, which a
   * completion does not touch. Written after the deferred takes (the job may have been claimed
   * in this batch). A completion that then matches nothing makes the batch run again in
   * savepoints ({@link DeferredShortfall}).
   */
  deferComplete(rid: number, queue: string, id: string, returnValue: string, anyToken: number, token: string | null): void {
    this.completeArgs.push(rid, queue, id, returnValue, anyToken, token);
    if (this.completeArgs.length >= 6 * MAX_PICK_AHEAD) this.flushDeferred();
  }

  /** Writes the deferred takes, then the deferred completions. */
  flushDeferred(): void {
    this.flushTakes();
    this.flushCompletes();
  }

  /** Writes the deferred completions (takes first: see {@link deferComplete}). */
  flushCompletes(): void {
    const args = this.completeArgs;
    const n = args.length / 6;
    if (n === 0) return;
    this.flushTakes();
    this.completeArgs = [];
    const now = this.takeArgs[0];
    let changes: number;
    if (n === 1) {
      changes = this.completeOne.run(args[3], now, args[0], args[1], args[2], args[4], args[5]).changes;
    } else {
      changes = this.valuesStatement(this.completeStatements, n, 6, completeManySql).run(now, ...args).changes;
    }
    if (changes !== n) throw new DeferredShortfall(`${n - changes} of ${n} deferred completions found their job otherwise`);
  }

  /** `sql(rows)` for `n` rows of `arity` parameters each (the deferred writes), prepared once per `n`. */
  private valuesStatement(cache: Database.Statement[], n: number, arity: number, sql: (rows: string) => string): Database.Statement {
    let stmt = cache[n];
    if (!stmt) {
      const row = `(${new Array<string>(arity).fill('?').join(', ')})`;
      stmt = cache[n] = this.db.prepare(sql(new Array<string>(n).fill(row).join(', ')));
    }
    return stmt;
  }

  private resetClaims(batch: Pending[], now: number, isolate: boolean): void {
    this.picks.clear();
    this.takeArgs = [now];
    this.completeArgs = [];
    this.deferring = !isolate;
    this.claimsLeft = new Map();
    this.seqAhead.clear();
    this.opsLeft = new Map();
    for (const p of batch) {
      if (p.traits.claims) this.claimsLeft.set(p.queue, (this.claimsLeft.get(p.queue) ?? 0) + 1);
      this.opsLeft.set(p.queue, (this.opsLeft.get(p.queue) ?? 0) + 1);
    }
  }

  /** Forgets what this connection remembers of the store once another connection has committed; read once per batch. */
  private checkVersion(): void {
    if (this.versionBatch === this.batchId) return;
    this.versionBatch = this.batchId;
    const version = this.dataVersion.get() as number;
    if (version !== this.eventIdsVersion) {
      this.lastEventIds.clear();
      this.counters.clear();
      this.eventIdsVersion = version;
    }
  }

  /** The queue's counters as last seen by this connection, inside the batch's transaction (see {@link counters}). */
  counter(queue: string): { id: number; seq: number } | undefined {
    this.checkVersion();
    return this.counters.get(queue);
  }

  /** For a write of the queue's counter row other than through {@link setCounter}'s caller. */
  forgetCounter(queue: string): void {
    this.counters.delete(queue);
  }

  /** Records the queue's counters as just read or written inside the batch's transaction. */
  setCounter(queue: string, id: number, seq: number): void {
    this.counters.set(queue, { id, seq });
  }

  /** The queue's newest event id (0 if none), inside the batch's transaction (see {@link lastEventIds}). */
  private lastEventId(queue: string): number {
    this.checkVersion();
    let id = this.lastEventIds.get(queue);
    if (id === undefined) {
      id = (this.lastEventSql.get(queue) as number | null) ?? 0;
      this.lastEventIds.set(queue, id);
    }
    return id;
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
    if (batch.length !== 1 || !batch[0]!.traits.lone) this.lastBatch = batch.length;
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
    this.resetClaims(batch, now, isolate);
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
        const traits = p.traits;
        // Any other write may delete the counter row (obliterate) or reserve numbers past those
        // held; claims and completions that reserve clear them themselves (QueueOps.reserve).
        if (!traits.takesSeq && !traits.keepsDelayed) this.seqAhead.clear();
        if (!traits.keepsDelayed) {
          this.duePromoted.clear();
          this.flushDeferred();
          this.picks.clear();
        }
        if (isolate) this.savepoint.run();
        try {
          const value = p.fn(ev, now);
          if (traits.claims) this.claimsLeft.set(p.queue, this.claimsLeft.get(p.queue)! - 1);
          this.opsLeft.set(p.queue, this.opsLeft.get(p.queue)! - 1);
          if (isolate) this.release.run();
          results.push({ ok: true, value });
        } catch (err) {
          if (!isolate) {
            // (An error SQLite answers with a rollback of its own has already ended it.)
            if (this.db.inTransaction) this.rollback.run();
            this.counters.clear();
            this.onRollback();
            return batch.length === 1 && !(err instanceof DeferredShortfall)
              ? { results: [{ ok: false, value: err }], perQueue: new Map() }
              : this.runBatch(batch, now, true);
          }
          this.rollbackTo.run();
          // The numbers held may have been reserved by the operation just undone.
          this.seqAhead.clear();
          this.release.run();
          this.counters.clear();
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
      this.flushDeferred();
      let written: [string, number][] | undefined;
      for (const [queue, q] of perQueue) {
        if (q.events.length === 0) continue;
        const id = Math.max(now * 1000, this.lastEventId(queue) + 1);
        this.insertEvents.run(queue, id, encodeEvents(q.events));
        (written ??= []).push([queue, id]);
      }
      this.commit.run();
      if (written) for (const [queue, id] of written) this.lastEventIds.set(queue, id);
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      this.counters.clear();
      this.onRollback();
      if (err instanceof DeferredShortfall && !isolate) return this.runBatch(batch, now, true);
      return { results: batch.map(() => ({ ok: false, value: err })), perQueue: new Map() };
    }
    return { results, perQueue };
  }
}
