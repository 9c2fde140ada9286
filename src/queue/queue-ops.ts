import type { JobJson, JobsOptions } from 'bullmq';
import { ErrorCode } from 'bullmq';
import type { JobStore } from './store.js';
import { COUNTER_ROW_ID, EventBatch } from './events.js';
import { finishedError } from './errors.js';
import { CLAIM_PICK_COLUMNS, CLAIMED_ROW_COLUMNS, JOB_ROW_SQL, claimedRowToJobJson, pickedBefore, pickedJobJson, pickedPriority, pickedRowId, type JobRow } from './job-row.js';
import { MAX_PICK_AHEAD, TAKE_ONE_SQL, type OpTraits } from './group-commit.js';
import { CLAIM_RESERVE_BYTES } from './schema.js';
import { OWN_TEXT } from './traces.js';
import { FlowOps, type ParentRef } from './flow-ops.js';
import { DedupOps } from './dedup.js';

/** What a claim returns to BullMQ's worker: `[job, id, rateLimitDelay, delayUntil]`. */
export type ClaimResult = [JobJson | null, string, number, number];

export interface ClaimOptions {
  readonly token: string;
  readonly workerName: string | null;
  readonly lockDuration: number;
  readonly limiter?: { readonly max: number; readonly duration: number } | undefined;
}

/** How many finished jobs to keep: `count` 0 removes the finishing job itself; age in seconds. */
export interface Keep {
  readonly count?: number | undefined;
  readonly age?: number | undefined;
  readonly limit?: number | undefined;
}

/**
 * A job claimed ahead for a worker (see {@link QueueOps.retry}): active under the prefetch token,
 * lease running, its take committed; no `active` event yet.
 */
export interface Prefetched {
  readonly rid: number;
  /** As a claim hands it out (claimed at the prefetch's time, by the prefetching worker's name). */
  readonly job: JobJson;
  /** The picked row, for putting it back as it was. */
  readonly row: unknown[];
  /** The lock token it holds until handed out (the worker's predicted one, or the prefetch token). */
  readonly token: string;
}

export interface FinishOptions {
  readonly keep: Keep;
  readonly attempts: number;
  readonly metricsMaxDataPoints: number;
  /** Claim the next job in the same transaction (BullMQ's fetchNext). */
  readonly next?: ClaimOptions | undefined;
}

/** What BullMQ's moveToCompleted / moveToFailed return: the next job when one was asked for and claimed. */
export interface Finished {
  readonly result: ClaimResult | undefined;
  readonly finishedOn: number;
}

type ActiveRow = Pick<JobRow, 'rid' | 'id' | 'state' | 'lock_token' | 'dedup_id' | 'parent'>;
interface ChildCounts {
  pending: number;
  failed: number;
}

interface MetaFlags {
  paused: boolean;
  concurrency: number | null;
  max: number | null;
  duration: number | null;
}

const CLAIM: OpTraits = { keepsDelayed: true, claims: true, lone: true };
const FINISH: OpTraits = { keepsDelayed: true };
const FINISH_AND_CLAIM: OpTraits = { keepsDelayed: true, claims: true };
const RETRY: OpTraits = { takesSeq: true };
// An immediate retry that also prefetches the worker's next job (see QueueOps.retry). Appending
// the retried job to the end of the line leaves rows read ahead valid (checked in the op); a
// LIFO retry puts it at the head, so rows read ahead are dropped before it runs.
const RETRY_PREFETCH: OpTraits = { takesSeq: true, keepsDelayed: true, claims: true };
const RETRY_LIFO_PREFETCH: OpTraits = { takesSeq: true, claims: true };
// A prefetched job's hand-out: nobody waits for it, so it rides with the next batch.
const HAND_OUT: OpTraits = { keepsDelayed: true, background: true };

const NO_DELAY_PENDING = 0;
/** Most delayed jobs one claim promotes. */
const PROMOTE_BATCH = 1000;
// Limits are written into statement texts on hot paths: bound as a parameter (`LIMIT ?`), the
// same statement measured ~5-20 µs more per call, whatever the rows read.
const PROMOTE_DUE_SQL = `SELECT rid, id FROM jobs_job WHERE queue = ? AND state = 'delayed' AND process_at <= ? ORDER BY process_at LIMIT ${PROMOTE_BATCH}`;

// Statements whose text is built from constants are built once: `store.stmt` looks statements up
// by their text, and a template literal evaluated per call is a fresh string to hash and compare.
const RESERVE_SQL = `INSERT INTO jobs_event (queue, id, events, id_counter, seq_counter) VALUES (?, ${COUNTER_ROW_ID}, '', ?, ?)
         ON CONFLICT (queue, id) DO UPDATE SET id_counter = id_counter + excluded.id_counter,
                                           seq_counter = seq_counter + excluded.seq_counter
         RETURNING id_counter, seq_counter`;
// The same with the counters known (GroupCommit.counter): a plain UPDATE, ~1.6 µs cheaper.
const COUNTER_SET_SQL = `UPDATE jobs_event SET id_counter = ?, seq_counter = ? WHERE queue = ? AND id = ${COUNTER_ROW_ID}`;
// A claim reads the next row, then takes it by rowid: both inside the batch's IMMEDIATE
// transaction, so no other connection can claim it in between. (One UPDATE ... RETURNING of
// every column costs SQLite a temporary table per call, more than the separate read.)
const CLAIM_PICK_SQL: string[] = [];
const claimPickSql = (n: number): string =>
  (CLAIM_PICK_SQL[n] ??= `SELECT ${CLAIM_PICK_COLUMNS} FROM jobs_job WHERE queue = ? AND state = 'waiting' ORDER BY priority, seq LIMIT ${n}`);
const CLAIMED_ROW_SQL = `SELECT ${CLAIMED_ROW_COLUMNS} FROM jobs_job WHERE rid = ?`;
// A job that is neither a flow child nor deduplicated has nothing to update beyond its row, so
// completing it needs no columns back (RETURNING costs about as much as the UPDATE itself).
// The NOT EXISTS keeps a parent with unfinished children from completing. `byRid`: the row is
// found by the rowid its claim in this process read (QueueOps.claimedRows), sparing the
// (queue, id) index lookup; queue and id are still compared, as a rowid may be reused once its
// job is deleted. Parameters: [rowid,] queue, id, "any token" (1 for BullMQ's '0' / none), token.
const plainWhere = (byRid: boolean): string =>
  `WHERE ${byRid ? 'rid = ? AND ' : ''}queue = ? AND id = ? AND state = 'active' AND (? OR lock_token = ?) AND parent IS NULL AND dedup_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM jobs_dep WHERE parent_queue = jobs_job.queue AND parent_id = jobs_job.id AND status IN ('pending', 'failed'))`;
// Completes: return value and now, then the above.
const completePlainSql = (byRid: boolean): string =>
  `UPDATE jobs_job SET state = 'completed', returnvalue = ?, finished_on = ?, lock_token = NULL, locked_until = NULL,
                             attempts_made = attempts_made + 1 ${plainWhere(byRid)}`;
const COMPLETE_PLAIN_SQL = completePlainSql(false);
const COMPLETE_PLAIN_BY_RID_SQL = completePlainSql(true);
// The same for removeOnComplete: true, where the row would be deleted right after.
const COMPLETE_PLAIN_REMOVE_SQL = `DELETE FROM jobs_job ${plainWhere(false)}`;
const COMPLETE_PLAIN_REMOVE_BY_RID_SQL = `DELETE FROM jobs_job ${plainWhere(true)}`;
// A failure's stack traces, as TraceTexts.idOf placed them: shared (an id, whose reference this
// row's `trace` is set to hold), the job's own (OWN_TEXT, kept by QueueOps.keepStack) or none
// (null). Unless shared, `trace` is left out of the SET, since the triggers count a row's old
// text as dropped whenever `trace` is set, even to itself.
const isShared = (trace: number | null): trace is number => trace !== null && trace !== OWN_TEXT;
const setTrace = (trace: number | null): string => (isShared(trace) ? 'trace = ?, ' : '');
// The parameters `reason` and, when shared, `trace` (in that order).
const withTrace = (trace: number | null, reason: string | null): (string | number | null)[] => (isShared(trace) ? [reason, trace] : [reason]);
// An immediate retry of a job claimed in this process (QueueOps.claimedRows): back to wait at
// seq (first parameter), with the attempt's reason and stack traces. queue, id, state and token
// are compared as in plainWhere, as the rowid may have been reused.
// Parameters: seq, reason, [trace,] rowid, queue, id, "any token", token.
const retryByRidSql = (shared: boolean): string => `UPDATE jobs_job SET state = 'waiting', seq = ?, lock_token = NULL, locked_until = NULL,
                             failed_reason = coalesce(?, failed_reason), ${shared ? 'trace = ?, ' : ''}attempts_made = attempts_made + 1
         WHERE rid = ? AND queue = ? AND id = ? AND state = 'active' AND (? OR lock_token = ?)`;
const RETRY_BY_RID_SQL = retryByRidSql(false);
const RETRY_TRACE_BY_RID_SQL = retryByRidSql(true);
// A job's own stack traces, beside its row (schema V10); they go with the row (trigger).
const SAVE_STACK_SQL = 'INSERT INTO jobs_stack (rid, stacktrace) VALUES (?, ?) ON CONFLICT (rid) DO UPDATE SET stacktrace = excluded.stacktrace';
const DROP_STACK_SQL = 'DELETE FROM jobs_stack WHERE rid = ?';
// A prefetched job handed out: the worker's token replaces the prefetch token.
const HAND_OUT_SQL = `UPDATE jobs_job SET lock_token = ? WHERE rid = ? AND state = 'active' AND lock_token = ?`;
// A prefetched job nobody asked for, back to wait at its old place, as it was before.
const PUT_BACK_SQL = `UPDATE jobs_job SET state = 'waiting', lock_token = NULL, locked_until = NULL, processed_on = ?, processed_by = ?,
                             attempts_started = attempts_started - 1
         WHERE rid = ? AND state = 'active' AND lock_token = ?`;
/** Most claimed rowids a QueueOps remembers (jobs claimed here and finished elsewhere or not at all). */
const MAX_CLAIMED_ROWS = 10_000;
// Two probes of the partial index jobs_job_ready; `state IN ('waiting', 'active')` would not
// match its WHERE and scan every finished job of the queue.
const BUSY_SQL = `SELECT EXISTS (SELECT 1 FROM jobs_job WHERE queue = @q AND state = 'waiting')
                      OR EXISTS (SELECT 1 FROM jobs_job WHERE queue = @q AND state = 'active') AS b`;

/**
 * Every state change of one queue's jobs, each one IMMEDIATE transaction on the shared store
 * that also records the events it emitted, then wakes waiters after commit. Synchronous on
 * purpose: a transaction never spans an await, so no other operation interleaves with it.
 */
export class QueueOps {
  readonly jobsTopic: string;
  readonly eventsTopic: string;
  readonly flows: FlowOps;
  readonly dedup: DedupOps;
  private flagsCache: MetaFlags | undefined;
  private flagsBatch = -1;
  private flagsVersion = -1;
  private flagsMetaWrites = -1;
  /**
   * Rowids of jobs this QueueOps claimed, by job id, for their completion (see
   * COMPLETE_PLAIN_BY_RID_SQL); only a hint: the completion still checks queue, id, state and
   * token, and falls back to the general path when they do not match.
   */
  private readonly claimedRows = new Map<string, number>();
  private readonly traceText = (id: number | null): string | null => this.store.traces.textOf(id);

  constructor(
    readonly store: JobStore,
    readonly queue: string,
    maxEvents: number,
  ) {
    this.jobsTopic = `${queue}\0jobs`;
    this.eventsTopic = `${queue}\0events`;
    store.setMaxEvents(queue, maxEvents);
    this.flows = new FlowOps(store);
    this.dedup = new DedupOps(store, queue);
  }

  // ---------------------------------------------------------------- plumbing

  /** Runs `fn` as one operation of the store's next group commit (see GroupCommit). */
  write<T>(fn: (ev: EventBatch, now: number) => T): Promise<T> {
    return this.store.group.run(this.queue, fn);
  }

  /** {@link write} with what the operation may do (see OpTraits). */
  private writeAs<T>(fn: (ev: EventBatch, now: number) => T, traits: OpTraits): Promise<T> {
    return this.store.group.run(this.queue, fn, traits);
  }

  trimEvents(maxLength: number): number {
    return this.store.trimEvents(this.queue, maxLength);
  }

  /** Reserves `ids` job ids and `seqs` ordering numbers; returns the first of each range. */
  reserve(ids: number, seqs: number): { id: number; seq: number } {
    const group = this.store.group;
    // Numbers held for this batch's retries come before these: none may be handed out after.
    if (seqs > 0) group.seqAhead.delete(this.queue);
    const known = group.counter(this.queue);
    if (known !== undefined) {
      const id = known.id + ids;
      const seq = known.seq + seqs;
      // No row (obliterate deleted it): the upsert below starts the counters afresh.
      if (this.store.stmt(COUNTER_SET_SQL).run(id, seq, this.queue).changes === 1) {
        known.id = id;
        known.seq = seq;
        return { id: id - ids + 1, seq: seq - seqs + 1 };
      }
    }
    const r = this.store
      .stmt(
        RESERVE_SQL,
      )
      .get(this.queue, ids, seqs) as { id_counter: number; seq_counter: number };
    group.setCounter(this.queue, r.id_counter, r.seq_counter);
    return { id: r.id_counter - ids + 1, seq: r.seq_counter - seqs + 1 };
  }

  nextSeq(): number {
    return this.reserve(0, 1).seq;
  }

  /** {@link nextSeq} for an operation run with `takesSeq` (see GroupCommit.seqAhead). */
  private batchSeq(): number {
    const group = this.store.group;
    const held = group.seqAhead.get(this.queue);
    if (held !== undefined && held.next <= held.end) return held.next++;
    const n = Math.min(group.opsAhead(this.queue), MAX_PICK_AHEAD);
    const { seq } = this.reserve(0, n);
    if (n > 1) group.seqAhead.set(this.queue, { next: seq + 1, end: seq + n - 1 });
    return seq;
  }

  /**
   * The queue's meta flags, re-read only when they may have changed: inside a batch this process
   * holds the write lock; across batches, while no other process committed (SQLite's
   * `data_version`) and no meta write of this process happened (`metaWrites`), they are the same.
   * A worker at concurrency 1 runs one batch per job, so this spares it a read per job.
   */
  private flags(): MetaFlags {
    const batch = this.store.group.batchId;
    if (this.flagsCache && this.flagsBatch === batch) return this.flagsCache;
    const version = this.store.dataVersion();
    if (!this.flagsCache || this.flagsVersion !== version || this.flagsMetaWrites !== this.store.metaWrites) {
      this.flagsCache = this.readFlags();
      this.flagsVersion = version;
      this.flagsMetaWrites = this.store.metaWrites;
    }
    this.flagsBatch = batch;
    return this.flagsCache;
  }

  private dropFlags(): void {
    this.flagsCache = undefined;
    this.store.metaWrites++;
  }

  private readFlags(): MetaFlags {
    const rows = this.store
      .stmt("SELECT field, value FROM jobs_meta WHERE queue = ? AND field IN ('paused', 'concurrency', 'max', 'duration')")
      .all(this.queue) as { field: string; value: string }[];
    const f: MetaFlags = { paused: false, concurrency: null, max: null, duration: null };
    for (const r of rows) {
      if (r.field === 'paused') f.paused = r.value === '1' || r.value === 'true';
      else if (r.field === 'concurrency') f.concurrency = Number(r.value);
      else if (r.field === 'max') f.max = Number(r.value);
      else if (r.field === 'duration') f.duration = Number(r.value);
    }
    return f;
  }

  /**
   * Keeps a failure's stack traces where TraceTexts.idOf placed them: the job's own go beside
   * its row; shared ones, already named by `trace`, drop the job's own, which would win over them.
   */
  private keepStack(rid: number, trace: number | null, stacktrace: string | null): void {
    if (trace === OWN_TEXT) this.store.stmt(SAVE_STACK_SQL).run(rid, stacktrace);
    else if (trace !== null) this.store.stmt(DROP_STACK_SQL).run(rid);
  }

  row(id: string): JobRow | undefined {
    return this.store.stmt(JOB_ROW_SQL).get(this.queue, id) as JobRow | undefined;
  }

  // ---------------------------------------------------------------- adding

  addJobs(jobs: readonly { job: JobJson; jobId: string; waitChildren?: boolean }[]): Promise<string[]> {
    return this.write((ev, now) => {
      let autoIds = 0;
      for (const { jobId, job } of jobs) if (!jobId && !job.id) autoIds++;
      let { id: nextId, seq } = this.reserve(autoIds, jobs.length);
      const out: string[] = [];
      for (const { job, jobId, waitChildren } of jobs) {
        const id = jobId || job.id || String(nextId++);
        out.push(this.insertJob(ev, job, id, seq++, now, waitChildren ?? false));
      }
      return out;
    });
  }

  /**
   * Inserts one job (inside the caller's transaction). Events go to this queue by name, so a
   * flow spanning queues can insert all its nodes in one operation.
   */
  insertJob(ev: EventBatch, job: JobJson, id: string, seq: number, now: number, waitChildren = false, dedupExpireAt?: number | null): string {
    const opts: JobsOptions = job.opts ?? {};
    const dedupId = job.deduplicationId ?? opts.deduplication?.id ?? null;
    // `dedupExpireAt` given: the job was already let through (keepLastIfActive's requeue).
    let expireAt = dedupExpireAt ?? null;
    if (dedupId !== null && dedupExpireAt === undefined) {
      const decision = this.dedup.decide(ev, dedupId, job, id, now);
      if ('winner' in decision) return decision.winner;
      expireAt = decision.expireAt;
    }
    const delay = Math.max(0, opts.delay ?? job.delay ?? 0);
    const priority = opts.priority ?? 0;
    const state = waitChildren ? 'waiting-children' : delay > 0 ? 'delayed' : 'waiting';
    const processAt = state === 'delayed' ? job.timestamp + delay : null;
    const parent = (job.parent as ParentRef | undefined) ?? null;
    const ordered = opts.lifo ? -seq : seq;
    const info = this.store
      .stmt(
        `INSERT INTO jobs_job (queue, id, name, state, seq, priority, data, opts, timestamp, delay, process_at,
                               repeat_job_key, dedup_id, parent, parent_key, reserve)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, zeroblob(${CLAIM_RESERVE_BYTES})) ON CONFLICT (queue, id) DO NOTHING`,
      )
      .run(this.queue, id, job.name, state, ordered, priority, job.data ?? '{}', JSON.stringify(opts), job.timestamp ?? now,
        delay, processAt, job.repeatJobKey ?? null, dedupId, parent ? JSON.stringify(parent) : null,
        parent ? (job.parentKey ?? `${parent.queueKey}:${parent.id}`) : null);
    if (info.changes === 0) {
      ev.pushTo(this.queue, 'duplicated', { jobId: id });
      return id;
    }
    if (parent) this.flows.link(this.queue, id, parent);
    if (dedupId !== null) this.dedup.claimKey(dedupId, id, expireAt);
    ev.pushTo(this.queue, 'added', { jobId: id, name: job.name });
    if (state === 'waiting-children') {
      ev.pushTo(this.queue, 'waiting-children', { jobId: id });
      return id;
    }
    if (state === 'delayed') ev.pushTo(this.queue, 'delayed', { jobId: id, delay: processAt ?? 0 });
    else ev.pushTo(this.queue, 'waiting', { jobId: id });
    ev.wakeElsewhere.add(this.queue);
    return id;
  }

  // ---------------------------------------------------------------- claiming

  claim(c: ClaimOptions): Promise<ClaimResult> {
    return this.writeAs((ev, now) => this.claimIn(ev, now, c), CLAIM);
  }

  /** Promotes due delayed jobs before a claim; once per batch and queue. */
  private promoteOnce(ev: EventBatch, now: number): void {
    // 50 workers finishing together share one look at the delayed jobs.
    const group = this.store.group;
    if (group.duePromoted.get(this.queue) !== group.batchId) {
      const promoted = this.promoteDue(ev, now);
      // Promoted jobs may go before rows already read ahead (a plain job before prioritized ones).
      if (promoted > 0) group.picks.delete(this.queue);
      if (promoted < PROMOTE_BATCH) group.duePromoted.set(this.queue, group.batchId);
    }
  }

  private claimIn(ev: EventBatch, now: number, c: ClaimOptions): ClaimResult {
    const group = this.store.group;
    this.promoteOnce(ev, now);
    const f = this.flags();
    if (f.paused) return [null, '', 0, 0];
    if (f.concurrency !== null) {
      group.flushDeferred();
      const active = this.store.stmt("SELECT count(*) AS n FROM jobs_job WHERE queue = ? AND state = 'active'").get(this.queue) as { n: number };
      if (active.n >= f.concurrency) return [null, '', 0, 0];
    }
    const max = f.max ?? c.limiter?.max ?? null;
    if (max !== null) {
      const ttl = this.rateLimitTtlAt(now, max);
      if (ttl > 0) return [null, '', ttl, 0];
    }
    const row = this.pick();
    if (!row) return [null, '', 0, this.nextDelayedAt() ?? NO_DELAY_PENDING];
    const rid = pickedRowId(row);
    let job = pickedJobJson(row, now, c.workerName, this.traceText);
    this.take(rid, c, now, job !== undefined && group.deferring);
    // A job tried before is read whole, as the take (never deferred for it) left it.
    job ??= claimedRowToJobJson(this.store.stmt(CLAIMED_ROW_SQL).raw().get(rid) as unknown[]);
    if (max !== null) {
      const duration = c.limiter?.duration ?? f.duration;
      if (duration !== null) this.consumeRateLimit(now, duration);
    }
    const id = job.id!;
    if (this.claimedRows.size >= MAX_CLAIMED_ROWS) this.claimedRows.clear();
    this.claimedRows.set(id, rid);
    ev.push('active', { jobId: id, prev: 'waiting' });
    return [job, id, 0, 0];
  }

  /**
   * Claims the next waiting job for a worker that has not asked yet (`c.token` is the prefetch
   * token), as {@link claimIn} would, without its `active` event: {@link handOut} emits that and
   * writes the worker's token. Only plain jobs on a queue without pause, global concurrency or
   * rate limit are prefetched; anything else is left to the worker's own claim.
   */
  private prefetchIn(ev: EventBatch, now: number, c: ClaimOptions): Prefetched | undefined {
    const group = this.store.group;
    this.promoteOnce(ev, now);
    const f = this.flags();
    if (f.paused || f.concurrency !== null || f.max !== null || c.limiter) return undefined;
    const row = this.pick();
    if (!row) return undefined;
    const job = pickedJobJson(row, now, c.workerName, this.traceText);
    if (!job) {
      // Still the next row in line: left for the claims after this.
      if (group.deferring) {
        const ahead = group.picks.get(this.queue);
        if (ahead) ahead.push(row);
        else group.picks.set(this.queue, [row]);
      }
      return undefined;
    }
    const rid = pickedRowId(row);
    this.take(rid, c, now, group.deferring);
    return { rid, job, row, token: c.token };
  }

  /**
   * Takes the picked row `rid` for claim `c`: with `defer`, in the batch's one multi-row UPDATE
   * (GroupCommit.deferTake), else at once.
   */
  private take(rid: number, c: ClaimOptions, now: number, defer: boolean): void {
    if (defer) {
      this.store.group.deferTake(rid, c.token, now + c.lockDuration, c.workerName);
      return;
    }
    const taken = this.store.stmt(TAKE_ONE_SQL).run(c.token, now + c.lockDuration, now, c.workerName, rid);
    if (taken.changes !== 1) throw new Error(`claim of job row ${rid} in queue ${this.queue} found it gone inside its transaction`);
  }

  /**
   * Hands a prefetched job to the worker that asked with `token`, as a claim returns it. The
   * token (unless the prefetch guessed it) and the `active` event are written by an operation
   * that rides with the next batch:
   * the job is already this worker's (active, leased, committed), and anything that checks its
   * token (finishing it, extending its lock) is queued after that operation, so runs after it.
   */
  handOut(p: Prefetched, token: string): ClaimResult {
    const id = p.job.id!;
    void this.writeAs((ev) => {
      // Claimed under the very token the worker asked with (see RailyardQueueBackend.retryJob):
      // nothing to write but the event.
      if (p.token === token || this.store.stmt(HAND_OUT_SQL).run(token, p.rid, p.token).changes === 1) {
        ev.push('active', { jobId: id, prev: 'waiting' });
      }
    }, HAND_OUT).catch(() => undefined);
    if (this.claimedRows.size >= MAX_CLAIMED_ROWS) this.claimedRows.clear();
    this.claimedRows.set(id, p.rid);
    return [p.job, id, 0, 0];
  }

  /** Prefetched jobs nobody asked for, back to wait where they were, as they were. */
  putBack(list: readonly Prefetched[]): Promise<void> {
    return this.write((ev) => {
      for (const p of list) {
        const before = pickedBefore(p.row);
        const r = this.store.stmt(PUT_BACK_SQL).run(before.processedOn, before.processedBy, p.rid, p.token);
        if (r.changes === 1) ev.wakeWorkers = true;
      }
    });
  }

  /**
   * The next waiting row in claim order (priority, then seq), as {@link CLAIM_PICK_COLUMNS}.
   * Read ahead for the batch's later claims on this queue (see GroupCommit.picks): the rows are
   * the next ones in order as long as only claims have run since, and each claim takes the
   * first row left.
   */
  private pick(): unknown[] | undefined {
    const group = this.store.group;
    const ahead = group.picks.get(this.queue);
    if (ahead !== undefined && ahead.length > 0) return ahead.pop();
    // Rows whose take is deferred still read as waiting: write them before picking afresh.
    group.flushTakes();
    const n = group.deferring ? Math.min(group.claimsAhead(this.queue), MAX_PICK_AHEAD) : 1;
    if (n <= 1) return this.store.stmt(claimPickSql(1)).raw().get(this.queue) as unknown[] | undefined;
    const rows = this.store.stmt(claimPickSql(n)).raw().all(this.queue) as unknown[][];
    const first = rows.shift();
    group.picks.set(this.queue, rows.reverse());
    return first;
  }

  /** Moves delayed jobs whose time has come to the end of the waiting line, in due order. */
  promoteDue(ev: EventBatch, now: number): number {
    const due = this.store
      .stmt(PROMOTE_DUE_SQL)
      .all(this.queue, now) as { rid: number; id: string }[];
    if (due.length === 0) return 0;
    let { seq } = this.reserve(0, due.length);
    const upd = this.store.stmt("UPDATE jobs_job SET state = 'waiting', delay = 0, process_at = NULL, seq = ? WHERE rid = ?");
    for (const d of due) {
      upd.run(seq++, d.rid);
      ev.push('waiting', { jobId: d.id, prev: 'delayed' });
    }
    ev.wakeWorkers = true;
    return due.length;
  }

  nextDelayedAt(): number | null {
    const r = this.store.stmt("SELECT min(process_at) AS t FROM jobs_job WHERE queue = ? AND state = 'delayed'").get(this.queue) as { t: number | null };
    return r.t;
  }

  /**
   * Whether a worker could claim something now (used to close the check-then-wait race). A
   * paused queue or one at its global concurrency has nothing to hand out even with jobs waiting.
   */
  hasClaimable(now: number): boolean {
    const r = this.store
      .stmt(
        `SELECT (EXISTS (SELECT 1 FROM jobs_job WHERE queue = @q AND state = 'waiting')
                 AND NOT EXISTS (SELECT 1 FROM jobs_meta WHERE queue = @q AND field = 'paused')
                 AND coalesce((SELECT CAST(value AS INTEGER) FROM jobs_meta WHERE queue = @q AND field = 'concurrency')
                              > (SELECT count(*) FROM jobs_job WHERE queue = @q AND state = 'active'), 1))
             OR EXISTS (SELECT 1 FROM jobs_job WHERE queue = @q AND state = 'delayed' AND process_at <= @now) AS ok`,
      )
      .get({ q: this.queue, now }) as { ok: number };
    return r.ok === 1;
  }

  // ---------------------------------------------------------------- rate limiting

  private rateLimitTtlAt(now: number, max: number): number {
    const r = this.store.stmt('SELECT rl_count, rl_until FROM jobs_queue WHERE queue = ?').get(this.queue) as
      | { rl_count: number; rl_until: number }
      | undefined;
    if (!r || r.rl_until <= now) return 0;
    return r.rl_count >= max ? r.rl_until - now : 0;
  }

  private consumeRateLimit(now: number, duration: number): void {
    this.store
      .stmt(
        `INSERT INTO jobs_queue (queue, rl_count, rl_until) VALUES (@q, 1, @now + @d)
         ON CONFLICT (queue) DO UPDATE SET
           rl_count = CASE WHEN rl_until > @now THEN rl_count + 1 ELSE 1 END,
           rl_until = CASE WHEN rl_until > @now THEN rl_until ELSE @now + @d END`,
      )
      .run({ q: this.queue, now, d: duration });
  }

  /** Redis `getRateLimitTtl`: against `maxJobs`, else the queue's `max`, else the raw window (-2: none). */
  rateLimitTtl(maxJobs: number | undefined): number {
    const now = Date.now();
    const max = maxJobs ?? this.readFlags().max;
    if (max !== null && max !== undefined) return this.rateLimitTtlAt(now, max);
    const r = this.store.stmt('SELECT rl_until FROM jobs_queue WHERE queue = ?').get(this.queue) as { rl_until: number } | undefined;
    return r && r.rl_until > now ? r.rl_until - now : -2;
  }

  setRateLimit(expireTimeMs: number): Promise<void> {
    return this.write((_ev, now) => {
      this.store
        .stmt(
          `INSERT INTO jobs_queue (queue, rl_count, rl_until) VALUES (@q, @c, @u)
           ON CONFLICT (queue) DO UPDATE SET rl_count = @c, rl_until = @u`,
        )
        .run({ q: this.queue, c: Number.MAX_SAFE_INTEGER, u: now + expireTimeMs });
    });
  }

  removeRateLimit(): Promise<number> {
    return this.write((_ev, now) => {
      const had = this.store.stmt('SELECT rl_until FROM jobs_queue WHERE queue = ?').get(this.queue) as { rl_until: number } | undefined;
      this.store.stmt('UPDATE jobs_queue SET rl_count = 0, rl_until = 0 WHERE queue = ?').run(this.queue);
      return had && had.rl_until > now ? 1 : 0;
    });
  }

  // ---------------------------------------------------------------- finishing

  /** Checks that `id` is active and held by `token` ('0' skips the lock check, as in BullMQ). */
  private activeRow(id: string, token: string | undefined, command: string): ActiveRow;
  private activeRow(id: string, token: string | undefined, command: string, children: true): ActiveRow & ChildCounts;
  private activeRow(id: string, token: string | undefined, command: string, children = false): ActiveRow {
    // Completing also needs the job's unfinished children; one statement instead of three.
    const row = (
      children
        ? this.store
            .stmt(
              `SELECT rid, id, state, lock_token, dedup_id, parent,
                      (SELECT count(*) FROM jobs_dep WHERE parent_queue = @q AND parent_id = @id AND status = 'pending') AS pending,
                      (SELECT count(*) FROM jobs_dep WHERE parent_queue = @q AND parent_id = @id AND status = 'failed') AS failed
               FROM jobs_job WHERE queue = @q AND id = @id`,
            )
            .get({ q: this.queue, id })
        : this.store.stmt('SELECT rid, id, state, lock_token, dedup_id, parent FROM jobs_job WHERE queue = ? AND id = ?').get(this.queue, id)
    ) as ActiveRow | undefined;
    if (!row) throw finishedError({ code: ErrorCode.JobNotExist, jobId: id, command });
    if (row.state !== 'active') throw finishedError({ code: ErrorCode.JobNotInState, jobId: id, command, state: 'active' });
    if (token && token !== '0' && row.lock_token !== token) {
      throw finishedError({ code: ErrorCode.JobLockMismatch, jobId: id, command, state: 'active' });
    }
    return row;
  }

  complete(id: string, returnValue: string, token: string, o: FinishOptions): Promise<Finished> {
    // Only a flow child or a deduplicated job can make another job due as it completes: those
    // take the path below with `row`, and afterFinish forgets what was promoted.
    return this.writeAs((ev, now) => {
      const anyToken = token === null || token === undefined || token === '' || token === '0' ? 1 : 0;
      const group = this.store.group;
      const rid = this.claimedRows.get(id);
      if (rid !== undefined) this.claimedRows.delete(id);
      const tok = token ?? null;
      // Nothing after it reads finished jobs (no retention by count or age, no metrics): the
      // write can wait for the batch's other completions (GroupCommit.deferComplete).
      if (
        rid !== undefined &&
        group.deferring &&
        (o.keep.age === undefined || o.keep.age === null) &&
        (o.keep.count === undefined || o.keep.count < 0) &&
        o.metricsMaxDataPoints <= 0
      ) {
        group.deferComplete(rid, this.queue, id, returnValue, anyToken, tok);
        ev.push('completed', { jobId: id, returnvalue: returnValue, prev: 'active' });
        return this.afterFinish(ev, now, null, 'completed', o);
      }
      const plain =
        o.keep.count === 0
          ? rid === undefined
            ? this.store.stmt(COMPLETE_PLAIN_REMOVE_SQL).run(this.queue, id, anyToken, tok)
            : this.store.stmt(COMPLETE_PLAIN_REMOVE_BY_RID_SQL).run(rid, this.queue, id, anyToken, tok)
          : rid === undefined
            ? this.store.stmt(COMPLETE_PLAIN_SQL).run(returnValue, now, this.queue, id, anyToken, tok)
            : this.store.stmt(COMPLETE_PLAIN_BY_RID_SQL).run(returnValue, now, rid, this.queue, id, anyToken, tok);
      if (plain.changes === 1) {
        ev.push('completed', { jobId: id, returnvalue: returnValue, prev: 'active' });
        return this.afterFinish(ev, now, null, 'completed', o);
      }
      // A flow child, a deduplicated job, or one that cannot complete: in one statement that
      // returns what the rest needs. Only when that finds nothing do the separate checks run, to
      // name the reason. A job claimed earlier in this batch comes here too, its take still
      // deferred: written first. What this path does may release jobs to wait anywhere, so rows
      // read ahead are stale.
      group.flushDeferred();
      group.picks.clear();
      const row = this.store
        .stmt(
          `UPDATE jobs_job SET state = 'completed', returnvalue = @rv, finished_on = @now, lock_token = NULL, locked_until = NULL,
                               attempts_made = attempts_made + 1
           WHERE queue = @q AND id = @id AND state = 'active' AND (@token IS NULL OR @token IN ('', '0') OR lock_token = @token)
             AND NOT EXISTS (SELECT 1 FROM jobs_dep WHERE parent_queue = @q AND parent_id = @id AND status IN ('pending', 'failed'))
           RETURNING rid, id, state, lock_token, dedup_id, parent`,
        )
        .get({ rv: returnValue, now, q: this.queue, id, token: token ?? null }) as ActiveRow | undefined;
      if (!row) {
        const held = this.activeRow(id, token, 'moveToFinished', true);
        if (held.pending > 0) throw finishedError({ code: ErrorCode.JobPendingChildren, jobId: id, command: 'moveToFinished' });
        if (held.failed > 0) throw finishedError({ code: ErrorCode.JobHasFailedChildren, jobId: id, command: 'moveToFinished' });
        throw new Error(`job ${id} could not be completed`);
      }
      ev.push('completed', { jobId: id, returnvalue: returnValue, prev: 'active' });
      if (row.parent) this.flows.childCompleted(ev, this.queue, id, JSON.parse(row.parent) as ParentRef, returnValue, now);
      return this.afterFinish(ev, now, row, 'completed', o);
    }, o.next !== undefined ? FINISH_AND_CLAIM : FINISH);
  }

  fail(id: string, reason: string, stacktrace: string | null, token: string, o: FinishOptions): Promise<Finished> {
    return this.write((ev, now) => {
      const row = this.activeRow(id, token, 'moveToFinished');
      const trace = this.store.traces.idOf(stacktrace);
      const r = this.store
        .stmt(
          `UPDATE jobs_job SET state = 'failed', failed_reason = ?, ${setTrace(trace)}finished_on = ?,
                               lock_token = NULL, locked_until = NULL, deferred_failure = NULL,
                               attempts_made = attempts_made + 1 WHERE rid = ? RETURNING attempts_made`,
        )
        .get(...withTrace(trace, reason), now, row.rid) as { attempts_made: number };
      this.keepStack(row.rid, trace, stacktrace);
      ev.push('failed', { jobId: id, failedReason: reason, prev: 'active' });
      if (r.attempts_made >= o.attempts) ev.push('retries-exhausted', { jobId: id, attemptsMade: r.attempts_made });
      if (row.parent) this.flows.childFailed(ev, this.queue, id, JSON.parse(row.parent) as ParentRef, reason, now);
      return this.afterFinish(ev, now, row, 'failed', o);
    });
  }

  /** `row` null: a plain job (see COMPLETE_PLAIN_SQL), already deleted if `keep.count` is 0. */
  private afterFinish(
    ev: EventBatch,
    now: number,
    row: ActiveRow | null,
    state: 'completed' | 'failed',
    o: FinishOptions,
  ): Finished {
    if (row) this.store.group.duePromoted.clear();
    if (row && row.dedup_id !== null) {
      const dedupId = row.dedup_id;
      this.dedup.finished(ev, dedupId, row.id, now, (e, job, id, expireAt) => {
        this.insertJob(e, job, id, this.nextSeq(), now, false, expireAt);
      });
    }
    if (o.keep.count === 0) {
      if (row) this.store.stmt('DELETE FROM jobs_job WHERE rid = ?').run(row.rid);
    } else {
      this.trimFinished(state, now, o.keep);
    }
    // A freed slot under a global concurrency limit may let a parked worker claim.
    if (this.flags().concurrency !== null) ev.wakeWorkers = true;
    if (o.metricsMaxDataPoints > 0) this.collectMetrics(state, now, o.metricsMaxDataPoints);
    let next: ClaimResult | undefined;
    if (o.next) {
      next = this.claimIn(ev, now, o.next);
      if (next[0]) return { result: next, finishedOn: now };
    }
    // A completion still deferred would count as active.
    this.store.group.flushCompletes();
    const busy = this.store.stmt(BUSY_SQL).get({ q: this.queue }) as { b: number };
    if (!busy.b) ev.push('drained');
    return { result: next, finishedOn: now };
  }

  /** removeOnComplete / removeOnFail other than "remove this job": age (s) and count bounds. */
  private trimFinished(state: 'completed' | 'failed', now: number, keep: Keep): void {
    if (keep.age !== undefined && keep.age !== null) {
      this.store
        .stmt(
          `DELETE FROM jobs_job WHERE rid IN (SELECT rid FROM jobs_job WHERE queue = ? AND state = ? AND finished_on <= ?
           ORDER BY finished_on LIMIT ?)`,
        )
        .run(this.queue, state, now - keep.age * 1000, keep.limit ?? 1000);
    }
    if (keep.count !== undefined && keep.count > 0) {
      this.store
        .stmt(
          `DELETE FROM jobs_job WHERE rid IN (SELECT rid FROM jobs_job WHERE queue = ? AND state = ?
           ORDER BY finished_on DESC, rid DESC LIMIT -1 OFFSET ?)`,
        )
        .run(this.queue, state, keep.count);
    }
  }

  /** Per-minute counters, as BullMQ's collectMetrics keeps them (newest point first). */
  private collectMetrics(kind: 'completed' | 'failed', now: number, maxPoints: number): void {
    const m = this.store.stmt('SELECT count, prev_ts, prev_count, points FROM jobs_metrics WHERE queue = ? AND kind = ?').get(this.queue, kind) as
      | { count: number; prev_ts: number; prev_count: number; points: string }
      | undefined;
    if (!m) {
      this.store.stmt('INSERT INTO jobs_metrics (queue, kind, count, prev_ts, prev_count) VALUES (?, ?, 1, ?, 0)').run(this.queue, kind, now);
      return;
    }
    const before = m.count;
    const minutes = Math.min(Math.floor(now / 60000) - Math.floor(m.prev_ts / 60000), maxPoints);
    if (minutes > 0) {
      const points = JSON.parse(m.points) as number[];
      const fresh = [before - m.prev_count, ...new Array<number>(minutes - 1).fill(0)];
      const merged = [...fresh.reverse(), ...points].slice(0, maxPoints);
      this.store
        .stmt('UPDATE jobs_metrics SET count = count + 1, prev_ts = ?, prev_count = ?, points = ? WHERE queue = ? AND kind = ?')
        .run(now, before, JSON.stringify(merged), this.queue, kind);
    } else {
      this.store.stmt('UPDATE jobs_metrics SET count = count + 1 WHERE queue = ? AND kind = ?').run(this.queue, kind);
    }
  }

  getMetrics(kind: 'completed' | 'failed', start: number, end: number): [string[], string[], number] {
    const m = this.store.stmt('SELECT count, prev_ts, prev_count, points FROM jobs_metrics WHERE queue = ? AND kind = ?').get(this.queue, kind) as
      | { count: number; prev_ts: number; prev_count: number; points: string }
      | undefined;
    if (!m) return [['0', '0', '0'], [], 0];
    const points = JSON.parse(m.points) as number[];
    return [[String(m.count), String(m.prev_ts), String(m.prev_count)], listRange(points, start, end).map(String), points.length];
  }

  // ---------------------------------------------------------------- retries and delays

  moveToDelayed(id: string, processAt: number, delay: number, token: string | undefined, skipAttempt: boolean, failedReason: string | null, stacktrace: string | null): Promise<void> {
    return this.write((ev) => {
      const row = this.activeRow(id, token, 'moveToDelayed');
      const trace = this.store.traces.idOf(stacktrace);
      this.store
        .stmt(
          `UPDATE jobs_job SET state = 'delayed', process_at = ?, delay = ?, lock_token = NULL, locked_until = NULL,
                               failed_reason = coalesce(?, failed_reason), ${setTrace(trace)}attempts_made = attempts_made + ? WHERE rid = ?`,
        )
        .run(processAt, delay, ...withTrace(trace, failedReason), skipAttempt ? 0 : 1, row.rid);
      this.keepStack(row.rid, trace, stacktrace);
      ev.push('delayed', { jobId: id, delay: processAt });
      ev.wakeWorkers = true;
    });
  }

  /**
   * An immediate retry. With `prefetch` (a worker's retry), the worker's next job is claimed in
   * the same operation under the prefetch token: BullMQ's Worker asks for it right after with
   * a separate `moveToActive`, one at a time, each of which would otherwise commit alone.
   */
  retry(
    id: string,
    lifo: boolean,
    token: string | undefined,
    failedReason: string | null,
    stacktrace: string | null,
    prefetch?: ClaimOptions,
  ): Promise<Prefetched | undefined> {
    return this.writeAs((ev, now) => {
      if (prefetch && !lifo) {
        // Rows read ahead stay the next ones while the retried job, appended with a new seq,
        // sorts after the last of them: sure when that one has priority 0.
        const ahead = this.store.group.picks.get(this.queue);
        if (ahead !== undefined && ahead.length > 0 && pickedPriority(ahead[0]!) !== 0) this.store.group.picks.delete(this.queue);
      }
      this.retryIn(ev, id, lifo, token, failedReason, stacktrace);
      return prefetch ? this.prefetchIn(ev, now, prefetch) : undefined;
    }, prefetch ? (lifo ? RETRY_LIFO_PREFETCH : RETRY_PREFETCH) : RETRY);
  }

  private retryIn(ev: EventBatch, id: string, lifo: boolean, token: string | undefined, failedReason: string | null, stacktrace: string | null): void {
    const seq = this.batchSeq();
    const order = lifo ? -seq : seq;
    // A job claimed in this process is found by its rowid and checked in the UPDATE itself
    // (as a plain completion is), sparing the (queue, id) read; only when that matches nothing
    // does the read run, to name the reason.
    const trace = this.store.traces.idOf(stacktrace);
    const rid = this.claimedRows.get(id);
    if (rid !== undefined) {
      const anyToken = token === undefined || token === '' || token === '0' ? 1 : 0;
      const done =
        !isShared(trace)
          ? this.store.stmt(RETRY_BY_RID_SQL).run(order, failedReason, rid, this.queue, id, anyToken, token ?? null)
          : this.store.stmt(RETRY_TRACE_BY_RID_SQL).run(order, failedReason, trace, rid, this.queue, id, anyToken, token ?? null);
      // Kept on a refusal (wrong token): the job is still active on that row.
      if (done.changes === 1) {
        this.keepStack(rid, trace, stacktrace);
        this.claimedRows.delete(id);
        ev.push('waiting', { jobId: id, prev: 'active' });
        ev.wakeWorkers = true;
        return;
      }
    }
    const row = this.activeRow(id, token, 'retryJob');
    this.store
      .stmt(
        `UPDATE jobs_job SET state = 'waiting', seq = ?, lock_token = NULL, locked_until = NULL,
                             failed_reason = coalesce(?, failed_reason), ${setTrace(trace)}attempts_made = attempts_made + 1 WHERE rid = ?`,
      )
      .run(order, ...withTrace(trace, failedReason), row.rid);
    this.keepStack(row.rid, trace, stacktrace);
    ev.push('waiting', { jobId: id, prev: 'active' });
    ev.wakeWorkers = true;
  }

  /** An active job back to wait without counting an attempt (manual rate limiting); returns the limiter ttl. */
  activeToWait(id: string, token: string | undefined): Promise<number> {
    return this.write((ev, now) => {
      const row = this.row(id);
      if (!row) throw finishedError({ code: ErrorCode.JobNotExist, jobId: id, command: 'moveJobFromActiveToWait' });
      if (token && token !== '0' && row.lock_token !== token) {
        throw finishedError({ code: ErrorCode.JobLockMismatch, jobId: id, command: 'moveJobFromActiveToWait', state: 'active' });
      }
      // Back to the head of the line: it was next, it only could not run yet.
      const seq = this.nextSeq();
      this.store
        .stmt(
          `UPDATE jobs_job SET state = 'waiting', seq = ?, lock_token = NULL, locked_until = NULL,
                               attempts_started = max(attempts_started - 1, 0) WHERE rid = ?`,
        )
        .run(-seq, row.rid);
      ev.push('waiting', { jobId: id, prev: 'active' });
      ev.wakeWorkers = true;
      const r = this.store.stmt('SELECT rl_until FROM jobs_queue WHERE queue = ?').get(this.queue) as { rl_until: number } | undefined;
      return r && r.rl_until > now ? r.rl_until - now : 0;
    });
  }

  reprocess(id: string, state: 'completed' | 'failed', lifo: boolean, resetAttemptsMade: boolean, resetAttemptsStarted: boolean): Promise<number> {
    return this.write((ev) => {
      const row = this.row(id);
      if (!row) return ErrorCode.JobNotExist;
      if (row.state !== state) return ErrorCode.JobNotInState;
      const seq = this.nextSeq();
      this.store
        .stmt(
          `UPDATE jobs_job SET state = 'waiting', seq = ?, finished_on = NULL, processed_on = NULL, returnvalue = NULL,
                               failed_reason = NULL, trace = NULL,
                               attempts_made = CASE WHEN ? THEN 0 ELSE attempts_made END,
                               attempts_started = CASE WHEN ? THEN 0 ELSE attempts_started END WHERE rid = ?`,
        )
        .run(lifo ? -seq : seq, resetAttemptsMade ? 1 : 0, resetAttemptsStarted ? 1 : 0, row.rid);
      this.store.stmt(DROP_STACK_SQL).run(row.rid);
      ev.push('waiting', { jobId: id, prev: state });
      ev.wakeWorkers = true;
      return 1;
    });
  }

  /** Moves up to `count` finished jobs finished at or before `timestamp` back to wait; returns 1 while more remain. */
  retryFinished(state: 'completed' | 'failed', count: number, timestamp: number): Promise<number> {
    return this.write((ev) => {
      const rows = this.store
        .stmt('SELECT rid, id FROM jobs_job WHERE queue = ? AND state = ? AND finished_on <= ? ORDER BY finished_on LIMIT ?')
        .all(this.queue, state, timestamp, count) as { rid: number; id: string }[];
      if (rows.length === 0) return 0;
      let { seq } = this.reserve(0, rows.length);
      const upd = this.store.stmt(
        `UPDATE jobs_job SET state = 'waiting', seq = ?, finished_on = NULL, processed_on = NULL, returnvalue = NULL,
                             failed_reason = NULL, trace = NULL, attempts_made = 0 WHERE rid = ?`,
      );
      const dropStack = this.store.stmt(DROP_STACK_SQL);
      for (const r of rows) {
        upd.run(seq++, r.rid);
        dropStack.run(r.rid);
        ev.push('waiting', { jobId: r.id, prev: state });
      }
      ev.wakeWorkers = true;
      return rows.length < count ? 0 : 1;
    });
  }

  promote(id: string): Promise<number> {
    return this.write((ev) => {
      const row = this.row(id);
      if (!row) return ErrorCode.JobNotExist;
      if (row.state !== 'delayed') return ErrorCode.JobNotInState;
      this.store.stmt("UPDATE jobs_job SET state = 'waiting', delay = 0, process_at = NULL, seq = ? WHERE rid = ?").run(this.nextSeq(), row.rid);
      ev.push('waiting', { jobId: id, prev: 'delayed' });
      ev.wakeWorkers = true;
      return 0;
    });
  }

  promoteAll(count: number): Promise<number> {
    return this.write((ev) => {
      const due = this.store
        .stmt("SELECT rid, id FROM jobs_job WHERE queue = ? AND state = 'delayed' ORDER BY process_at LIMIT ?")
        .all(this.queue, count) as { rid: number; id: string }[];
      let { seq } = this.reserve(0, due.length);
      const upd = this.store.stmt("UPDATE jobs_job SET state = 'waiting', delay = 0, process_at = NULL, seq = ? WHERE rid = ?");
      for (const d of due) {
        upd.run(seq++, d.rid);
        ev.push('waiting', { jobId: d.id, prev: 'delayed' });
      }
      if (due.length) ev.wakeWorkers = true;
      return due.length < count ? 0 : 1;
    });
  }

  changeDelay(id: string, delay: number): Promise<number> {
    return this.write((ev, now) => {
      const row = this.row(id);
      if (!row) return ErrorCode.JobNotExist;
      if (row.state !== 'delayed') return ErrorCode.JobNotInState;
      const at = now + delay;
      const opts = JSON.parse(row.opts) as JobsOptions;
      opts.delay = delay;
      this.store.stmt('UPDATE jobs_job SET process_at = ?, delay = ?, opts = ? WHERE rid = ?').run(at, delay, JSON.stringify(opts), row.rid);
      ev.push('delayed', { jobId: id, delay: at });
      ev.wakeWorkers = true;
      return 0;
    });
  }

  changePriority(id: string, priority: number, lifo: boolean): Promise<number> {
    return this.write((ev) => {
      const row = this.row(id);
      if (!row) return ErrorCode.JobNotExist;
      const opts = JSON.parse(row.opts) as JobsOptions;
      opts.priority = priority;
      const seq = row.state === 'waiting' ? (lifo ? -this.nextSeq() : this.nextSeq()) : row.seq;
      this.store.stmt('UPDATE jobs_job SET priority = ?, seq = ?, opts = ? WHERE rid = ?').run(priority, seq, JSON.stringify(opts), row.rid);
      if (row.state === 'waiting') ev.wakeWorkers = true;
      return 0;
    });
  }

  /** An active parent with unfinished children parks in waiting-children; true when it did. */
  moveToWaitingChildren(id: string, token: string, childKey?: string): Promise<boolean> {
    return this.write((ev) => {
      const row = this.activeRow(id, token, 'moveToWaitingChildren');
      const pending = childKey
        ? this.store.stmt("SELECT 1 FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND child_key = ? AND status = 'pending'").get(this.queue, id, childKey) !== undefined
        : this.flows.count(this.queue, id, 'pending') > 0;
      if (!pending) return false;
      this.store.stmt("UPDATE jobs_job SET state = 'waiting-children', lock_token = NULL, locked_until = NULL WHERE rid = ?").run(row.rid);
      ev.push('waiting-children', { jobId: id });
      return true;
    });
  }

  removeChildDependency(id: string, parentKey: string): Promise<boolean> {
    return this.write((ev, now) => {
      const row = this.row(id);
      if (!row) throw finishedError({ code: ErrorCode.JobNotExist, jobId: id, command: 'removeChildDependency' });
      const parent = row.parent ? (JSON.parse(row.parent) as ParentRef) : null;
      if (!parent || `${parent.queueKey}:${parent.id}` !== parentKey) return false;
      if (!this.store.stmt('SELECT 1 FROM jobs_job WHERE queue = ? AND id = ?').get(parent.queueKey, parent.id)) {
        throw finishedError({ code: ErrorCode.ParentJobNotExist, jobId: id, parentKey, command: 'removeChildDependency' });
      }
      const had = this.store
        .stmt("SELECT 1 FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND child_key = ? AND status = 'pending'")
        .get(parent.queueKey, parent.id, `${this.queue}:${id}`);
      if (!had) return false;
      this.flows.childRemoved(ev, this.queue, id, parent, now);
      this.store.stmt('UPDATE jobs_job SET parent = NULL, parent_key = NULL WHERE rid = ?').run(row.rid);
      return true;
    });
  }

  removeUnprocessedChildren(id: string): Promise<void> {
    return this.write(() => this.flows.removeChildren(this.queue, id, true));
  }

  // ---------------------------------------------------------------- locks and stalls

  extendLocks(ids: readonly string[], tokens: readonly string[], duration: number): Promise<string[]> {
    return this.write((_ev, now) => {
      const failed: string[] = [];
      const upd = this.store.stmt("UPDATE jobs_job SET locked_until = ? WHERE queue = ? AND id = ? AND state = 'active' AND lock_token = ?");
      ids.forEach((id, i) => {
        if (upd.run(now + duration, this.queue, id, tokens[i] ?? '').changes === 0) failed.push(id);
      });
      return failed;
    });
  }

  /**
   * Puts active jobs whose lease expired back at the head of the queue. The lease is the lock:
   * it is set in the same transaction as the claim, so an expired lease means the worker
   * stopped renewing it (crashed, killed, or blocked for longer than lockDuration).
   */
  recoverStalled(maxStalledCount: number, interval: number): Promise<string[]> {
    return this.write((ev, now) => {
      const q = this.store.stmt('SELECT stalled_check FROM jobs_queue WHERE queue = ?').get(this.queue) as { stalled_check: number } | undefined;
      if (q && q.stalled_check + interval > now) return [];
      this.store
        .stmt('INSERT INTO jobs_queue (queue, stalled_check) VALUES (@q, @now) ON CONFLICT (queue) DO UPDATE SET stalled_check = @now')
        .run({ q: this.queue, now });
      const rows = this.store
        .stmt("SELECT rid, id, stalled_counter, repeat_job_key FROM jobs_job WHERE queue = ? AND state = 'active' AND locked_until < ?")
        .all(this.queue, now) as { rid: number; id: string; stalled_counter: number; repeat_job_key: string | null }[];
      if (rows.length === 0) return [];
      let { seq } = this.reserve(0, rows.length);
      const upd = this.store.stmt(
        `UPDATE jobs_job SET state = 'waiting', seq = ?, lock_token = NULL, locked_until = NULL, stalled_counter = ?,
                             deferred_failure = coalesce(?, deferred_failure) WHERE rid = ?`,
      );
      const out: string[] = [];
      for (const r of rows) {
        const count = r.stalled_counter + 1;
        const scheduled = r.repeat_job_key !== null && this.isScheduler(r.repeat_job_key);
        const deferred = count > maxStalledCount && !scheduled ? 'job stalled more than allowable limit' : null;
        upd.run(-seq++, count, deferred, r.rid);
        ev.push('waiting', { jobId: r.id, prev: 'active' });
        ev.push('stalled', { jobId: r.id });
        out.push(r.id);
      }
      ev.wakeWorkers = true;
      return out;
    });
  }

  isScheduler(id: string): boolean {
    return this.store.stmt('SELECT 1 FROM jobs_scheduler WHERE queue = ? AND scheduler_id = ?').get(this.queue, id) !== undefined;
  }

  // ---------------------------------------------------------------- queue-wide

  pause(paused: boolean): Promise<void> {
    return this.write((ev) => {
      this.dropFlags();
      if (paused) this.store.stmt("INSERT OR REPLACE INTO jobs_meta (queue, field, value) VALUES (?, 'paused', '1')").run(this.queue);
      else this.store.stmt("DELETE FROM jobs_meta WHERE queue = ? AND field = 'paused'").run(this.queue);
      ev.push(paused ? 'paused' : 'resumed');
      if (!paused) ev.wakeWorkers = true;
    });
  }

  drain(delayed: boolean): Promise<void> {
    return this.write(() => {
      this.store.stmt("DELETE FROM jobs_job WHERE queue = ? AND state = 'waiting'").run(this.queue);
      if (delayed) this.store.stmt("DELETE FROM jobs_job WHERE queue = @q AND state = 'delayed' AND (repeat_job_key IS NULL OR repeat_job_key NOT IN (SELECT scheduler_id FROM jobs_scheduler WHERE queue = @q))").run({ q: this.queue });
    });
  }

  clean(type: string, timestamp: number, limit: number): Promise<string[]> {
    return this.write((ev, now) => {
      const lim = limit > 0 ? limit : -1;
      let rows: { rid: number; id: string }[];
      // Unfinished jobs are aged by when they were added, finished ones by when they finished.
      const byState = (state: string, col: string, extra = ''): { rid: number; id: string }[] =>
        this.store
          .stmt(`SELECT rid, id FROM jobs_job WHERE queue = @q AND state = '${state}' ${extra} AND ${col} <= @ts ORDER BY ${col} LIMIT @lim`)
          .all(extra.includes('@now') ? { q: this.queue, ts: timestamp, lim, now } : { q: this.queue, ts: timestamp, lim }) as { rid: number; id: string }[];
      switch (type) {
        case 'completed': rows = byState('completed', 'finished_on'); break;
        case 'failed': rows = byState('failed', 'finished_on'); break;
        case 'delayed': rows = byState('delayed', 'timestamp'); break;
        // an active job is only cleaned once its lease has lapsed: a live worker still owns it
        case 'active': rows = byState('active', 'timestamp', 'AND locked_until < @now'); break;
        case 'wait': case 'waiting': case 'paused': rows = byState('waiting', 'timestamp', 'AND priority = 0'); break;
        case 'prioritized': rows = byState('waiting', 'timestamp', 'AND priority > 0'); break;
        case 'waiting-children': rows = byState('waiting-children', 'timestamp'); break;
        default: rows = [];
      }
      const del = this.store.stmt('DELETE FROM jobs_job WHERE rid = ?');
      for (const r of rows) del.run(r.rid);
      ev.push('cleaned', { count: rows.length });
      return rows.map((r) => r.id);
    });
  }

  obliterate(force: boolean, count: number): Promise<number> {
    return this.write(() => {
      const f = this.readFlags();
      if (!f.paused) return -1;
      const active = this.store.stmt("SELECT count(*) AS n FROM jobs_job WHERE queue = ? AND state = 'active'").get(this.queue) as { n: number };
      if (active.n > 0 && !force) return -2;
      const n = this.store.stmt('DELETE FROM jobs_job WHERE rid IN (SELECT rid FROM jobs_job WHERE queue = ? LIMIT ?)').run(this.queue, count).changes;
      if (n >= count) return 1;
      this.store.stmt('DELETE FROM jobs_dep WHERE parent_queue = ?').run(this.queue);
      this.dropFlags();
      for (const t of ['jobs_meta', 'jobs_event', 'jobs_dedup', 'jobs_dedup_next', 'jobs_metrics', 'jobs_scheduler', 'jobs_log', 'jobs_queue']) {
        this.store.stmt(`DELETE FROM ${t} WHERE queue = ?`).run(this.queue);
      }
      return 0;
    });
  }

  remove(id: string, removeChildren = false): Promise<number> {
    return this.write((ev, now) => {
      const row = this.row(id);
      if (!row) return 0;
      if (row.state === 'active' && row.locked_until !== null && row.locked_until >= now) return 0;
      if (removeChildren) this.flows.removeChildren(this.queue, id, false);
      this.store.stmt('DELETE FROM jobs_dep WHERE parent_queue = ? AND parent_id = ?').run(this.queue, id);
      if (row.parent) this.flows.childRemoved(ev, this.queue, id, JSON.parse(row.parent) as ParentRef, now);
      if (row.repeat_job_key !== null && row.state === 'delayed' && this.isScheduler(row.repeat_job_key)) {
        throw finishedError({ code: ErrorCode.JobBelongsToJobScheduler, jobId: id, command: 'removeJob' });
      }
      this.store.stmt('DELETE FROM jobs_job WHERE rid = ?').run(row.rid);
      if (row.dedup_id !== null) this.dedup.removed(row.dedup_id, id);
      ev.push('removed', { jobId: id, prev: publicState(row) });
      return 1;
    });
  }

  // ---------------------------------------------------------------- job fields

  updateData(id: string, data: string): Promise<boolean> {
    return this.write(() => this.store.stmt('UPDATE jobs_job SET data = ? WHERE queue = ? AND id = ?').run(data, this.queue, id).changes > 0);
  }

  updateProgress(id: string, progress: string): Promise<boolean> {
    return this.write((ev) => {
      const ok = this.store.stmt('UPDATE jobs_job SET progress = ? WHERE queue = ? AND id = ?').run(progress, this.queue, id).changes > 0;
      if (ok) ev.push('progress', { jobId: id, data: progress });
      return ok;
    });
  }

  addLog(id: string, row: string, keepLogs: number | undefined): Promise<number> {
    return this.write(() => {
      if (!this.row(id)) throw finishedError({ code: ErrorCode.JobNotExist, jobId: id, command: 'addLog' });
      const last = this.store.stmt('SELECT max(idx) AS m, count(*) AS n FROM jobs_log WHERE queue = ? AND job_id = ?').get(this.queue, id) as { m: number | null; n: number };
      this.store.stmt('INSERT INTO jobs_log (queue, job_id, idx, row) VALUES (?, ?, ?, ?)').run(this.queue, id, (last.m ?? -1) + 1, row);
      const count = last.n + 1;
      if (keepLogs && count > keepLogs) {
        this.trimLogs(id, keepLogs);
        return keepLogs;
      }
      return count;
    });
  }

  private trimLogs(id: string, keep: number): void {
    this.store
      .stmt('DELETE FROM jobs_log WHERE queue = @q AND job_id = @id AND idx NOT IN (SELECT idx FROM jobs_log WHERE queue = @q AND job_id = @id ORDER BY idx DESC LIMIT @keep)')
      .run({ q: this.queue, id, keep });
  }

  clearLogs(id: string, keepLogs: number | undefined): Promise<void> {
    return this.write(() => {
      if (keepLogs && keepLogs > 0) this.trimLogs(id, keepLogs);
      else this.store.stmt('DELETE FROM jobs_log WHERE queue = ? AND job_id = ?').run(this.queue, id);
    });
  }

  // ---------------------------------------------------------------- metadata

  setMeta(values: Record<string, string | number>): Promise<number> {
    return this.write((ev) => {
      this.dropFlags();
      const put = this.store.stmt('INSERT OR REPLACE INTO jobs_meta (queue, field, value) VALUES (?, ?, ?)');
      let n = 0;
      for (const [k, v] of Object.entries(values)) {
        put.run(this.queue, k, String(v));
        n++;
      }
      // A raised concurrency or a lifted limit may let waiting workers claim.
      ev.wakeWorkers = true;
      return n;
    });
  }

  removeMeta(fields: readonly string[]): Promise<number> {
    return this.write((ev) => {
      this.dropFlags();
      const del = this.store.stmt('DELETE FROM jobs_meta WHERE queue = ? AND field = ?');
      let n = 0;
      for (const f of fields) n += del.run(this.queue, f).changes;
      ev.wakeWorkers = true;
      return n;
    });
  }
}

/** BullMQ's name for a stored job's state. */
export function publicState(row: Pick<JobRow, 'state' | 'priority'>): string {
  if (row.state === 'waiting') return row.priority > 0 ? 'prioritized' : 'wait';
  return row.state;
}

/** Redis LRANGE semantics: inclusive indexes, negative ones count from the end. */
export function listRange<T>(list: readonly T[], start: number, end: number): T[] {
  const n = list.length;
  const from = start < 0 ? Math.max(n + start, 0) : start;
  const to = end < 0 ? n + end : Math.min(end, n - 1);
  return to < from ? [] : list.slice(from, to + 1);
}
