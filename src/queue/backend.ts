import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type {
  BackendFactory,
  DependenciesOpts,
  IQueueBackend,
  JobJson,
  JobProgress,
  JobsOptions,
  JobState,
  JobType,
  KeepJobs,
  MinimalJob,
  MoveToDelayedOpts,
  MoveToWaitingChildrenOpts,
  ParentKeyOpts,
  QueueBaseOptions,
  RepeatableOptions,
  RetryJobOpts,
  RetryOptions,
  StreamReadRaw,
} from 'bullmq';
import { InvalidArgumentError } from '../errors.js';
import { JobStore } from './store.js';
import { QueueOps, type ClaimOptions, type ClaimResult, type Keep, type Prefetched } from './queue-ops.js';
import { QueueReads } from './queue-reads.js';
import { UnsupportedOperationError, finishedError } from './errors.js';
import { SchedulerOps } from './scheduler-ops.js';
import { validateJob } from './validate.js';
import { WorkerRegistry, type Registration } from './worker-registry.js';
import { releaseLock, takeLock } from './lock-ops.js';
import { takeGroupSlot } from './group-limit.js';

/** `connection` for the Railyard backend: the data dir whose `railyard.db` holds the jobs. */
export interface RailyardConnectionOptions {
  readonly dataDir: string;
}

/** The options BullMQ actually passes (Queue/Worker/QueueEvents options), read defensively. */
interface RuntimeOptions {
  name?: string;
  lockDuration?: number;
  limiter?: { max: number; duration: number };
  maxStalledCount?: number;
  stalledInterval?: number;
  metrics?: { maxDataPoints?: number };
  removeOnComplete?: KeepJobs;
  removeOnFail?: KeepJobs;
  streams?: { events?: { maxLen?: number } };
}

const EVENT_BATCH = 200;

/**
 * How long a prefetched job may wait for its worker's `moveToActive` before it is put back
 * (the worker was paused, closed, or is driven by hand): normally it is asked for within the
 * same event-loop turn.
 */
const PREFETCH_HOLD_MS = 20;
/** Most prefetched jobs a worker holds (it asks for one per retried job, up to its concurrency). */
const MAX_PREFETCHED = 64;

/**
 * BullMQ's `IQueueBackend` on Railyard's SQLite job store.
 *
 * One instance per Queue/Worker/QueueEvents, all sharing the process's {@link JobStore} for the
 * data dir. Blocking primitives (`waitForJob`, `readEvents`) park on in-process signals and
 * on the store's cross-process wake-up files, never on a poll loop.
 */
export class RailyardQueueBackend extends EventEmitter implements IQueueBackend {
  readonly qualifiedName: string;
  readonly keys = {};
  readonly minimumBlockTimeout = 0.001;
  // Waits re-arm at the next due job and wake on signals, so an idle worker need not re-poll often.
  readonly maximumBlockTimeout = 60;
  closing: Promise<void> | undefined;

  private readonly ops: QueueOps;
  private readonly reads: QueueReads;
  private readonly schedulers: SchedulerOps;
  private readonly opts: RuntimeOptions;
  private readonly owner: boolean;
  private startCursor: string | undefined;
  private blockingDisconnected = false;
  private jobWaiter: (() => void) | undefined;
  private cancelJobWait: (() => void) | undefined;
  private eventWaiter: (() => void) | undefined;
  private unsubscribers: (() => void)[] = [];
  private subscribedJobs = false;
  private subscribedEvents = false;
  /** This Worker's or QueueEvents' entry in the store's client list (getWorkers / getQueueEvents). */
  private registration: Promise<Registration> | undefined;
  /**
   * A Worker's jobs claimed ahead by its immediate retries (see QueueOps.retry), oldest first,
   * with when they were claimed; handed out by its next `moveToActive` calls. Undefined for
   * Queues and QueueEvents, which never ask for jobs.
   */
  private readonly prefetched: { p: Prefetched; at: number }[] | undefined;
  /**
   * The lock token a prefetched job holds until handed out when the worker's token cannot be
   * predicted; never a BullMQ worker's (`<uuid>:<n>`).
   */
  private readonly prefetchToken: string;
  /**
   * BullMQ's Worker numbers its claims' tokens `<worker id>:<n>`, n counting up by one per
   * `moveToActive`: the prefix seen last, the n its next call will carry, and the next n a
   * prefetch may take as its token. A prefetch that guessed its hand-out's token right leaves
   * nothing to write at the hand-out; a wrong guess costs the token's write (as no guess does).
   */
  private tokenPrefix: string | undefined;
  private nextTokenNo = 0;
  private guessNo = 0;
  private prefetchTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    opts: QueueBaseOptions<RailyardConnectionOptions>,
    private readonly store: JobStore,
    owner: boolean,
    blocking: boolean,
    worker = false,
  ) {
    super();
    this.prefetched = worker ? [] : undefined;
    this.prefetchToken = worker ? `railyard-prefetch:${randomUUID()}` : '';
    this.opts = opts as unknown as RuntimeOptions;
    this.owner = owner;
    this.qualifiedName = name;
    const maxEvents = this.opts.streams?.events?.maxLen ?? 10_000;
    this.ops = new QueueOps(store, name, maxEvents);
    this.reads = new QueueReads(store, name);
    this.schedulers = new SchedulerOps(this.ops);
    // QueueEvents starts reading from "now": pin "now" to construction, so an event emitted
    // between `new QueueEvents()` and its first read (e.g. a job finishing right after
    // `waitUntilFinished` checked it) is still delivered.
    if (blocking) this.startCursor = this.reads.latestEventId();
  }

  static create(name: string, opts: QueueBaseOptions<RailyardConnectionOptions>, blocking: boolean, worker = false): RailyardQueueBackend {
    const dataDir = opts?.connection?.dataDir;
    if (typeof dataDir !== 'string' || dataDir === '') {
      throw new InvalidArgumentError('connection.dataDir', dataDir, 'the Railyard data dir, a non-empty path');
    }
    const backend = new RailyardQueueBackend(name, opts, JobStore.acquire(dataDir), true, blocking, worker);
    // A worker is listed from its creation on, as Redis names a worker's blocking connection
    // when it opens it (unnamed workers as the bare client name, named ones with `:w:<name>`).
    if (worker) backend.list(backend.clientName(backend.opts.name ? `:w:${backend.opts.name}` : ''));
    return backend;
  }

  private list(clientName: string): void {
    this.registration = WorkerRegistry.of(this.store).register(this.name, clientName);
    // Surfaces through waitUntilReady/setName/close; never as an unhandled rejection.
    this.registration.catch(() => undefined);
  }

  // ------------------------------------------------------------ lifecycle

  async waitUntilReady(): Promise<void> {
    if (this.closing) throw new Error('Connection is closed.');
    await this.registration;
  }

  async close(_force?: boolean): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.cancelJobWait?.();
        this.eventWaiter?.();
        for (const u of this.unsubscribers) u();
        this.unsubscribers = [];
        if (this.prefetchTimer) clearTimeout(this.prefetchTimer);
        await this.putBackPrefetched(Infinity).catch(() => undefined);
        await this.registration?.then((r) => r.close()).catch(() => undefined);
        if (this.owner) await this.store.release();
        this.emit('close');
      })();
    }
    return this.closing;
  }

  async disconnect(): Promise<void> {
    this.cancelJobWait?.();
    this.eventWaiter?.();
  }

  /** Redis `CLIENT SETNAME`: lists this client (QueueEvents names itself so) or renames it. */
  async setName(name: string): Promise<void> {
    if (this.closing || !this.owner) return;
    if (this.registration) await (await this.registration).rename(name);
    else {
      this.list(name);
      await this.registration;
    }
  }

  forQueue(queueName: string, _prefix?: string): IQueueBackend {
    return new RailyardQueueBackend(queueName, this.opts as unknown as QueueBaseOptions<RailyardConnectionOptions>, this.store, false, false);
  }

  toKey(type: string): string {
    return `${this.name}:${type}`;
  }

  parseNodeKey(key: string): { prefix: string; queueName: string; id: string } {
    const i = key.lastIndexOf(':');
    return { prefix: '', queueName: key.slice(0, i), id: key.slice(i + 1) };
  }

  clientName(suffix = ''): string {
    // Base64 as on Redis, so a queue name with spaces or colons still parses in a client list.
    return `railyard:${Buffer.from(this.name).toString('base64')}${suffix}`;
  }

  // ------------------------------------------------------------ adding

  async addJob(job: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts): Promise<string> {
    validateJob(job);
    return (await this.ops.addJobs([{ job, jobId, waitChildren: parentKeyOpts?.addToWaitingChildren ?? false }]))[0]!;
  }

  async addJobs(entries: { job: JobJson; jobId: string; parentKeyOpts?: ParentKeyOpts }[]): Promise<string[]> {
    for (const e of entries) validateJob(e.job);
    return this.ops.addJobs(entries.map((e) => ({ job: e.job, jobId: e.jobId, waitChildren: e.parentKeyOpts?.addToWaitingChildren ?? false })));
  }

  /** A whole flow (roots first, possibly across queues) in one transaction: all of it or none. */
  async addFlow(
    entries: { jobData: JobJson; jobId: string; parentKeyOpts: ParentKeyOpts; prefix: string; queueName: string }[],
  ): Promise<[Error | null, string | number][]> {
    try {
      for (const e of entries) validateJob(e.jobData);
      const ids = await this.ops.write((ev, now) =>
        entries.map((e) => {
          const ops = this.opsFor(e.queueName);
          const auto = e.jobId || e.jobData.id ? 0 : 1;
          const { id: autoId, seq } = ops.reserve(auto, 1);
          const id = e.jobId || e.jobData.id || String(autoId);
          return ops.insertJob(ev, e.jobData, id, seq, now, e.parentKeyOpts?.addToWaitingChildren ?? false);
        }),
      );
      return ids.map((id) => [null, id]);
    } catch (err) {
      return entries.map(() => [err as Error, 0]);
    }
  }

  private readonly siblings = new Map<string, QueueOps>();

  private opsFor(queue: string): QueueOps {
    if (queue === this.name) return this.ops;
    let ops = this.siblings.get(queue);
    if (!ops) this.siblings.set(queue, (ops = new QueueOps(this.store, queue, this.opts.streams?.events?.maxLen ?? 10_000)));
    return ops;
  }

  // ------------------------------------------------------------ processing

  private claimOptions(token: string, name?: string): ClaimOptions {
    return {
      token,
      workerName: name ?? this.opts.name ?? null,
      lockDuration: this.opts.lockDuration ?? 30_000,
      limiter: this.opts.limiter,
    };
  }

  moveToActive(token: string, name?: string): Promise<ClaimResult> {
    if (this.prefetched !== undefined) this.sawToken(token);
    const ahead = this.prefetched?.[0];
    // The prefetch was made under this worker's options; another name gets a claim of its own.
    if (ahead !== undefined && !this.closing && (name ?? this.opts.name ?? null) === (this.opts.name ?? null)) {
      this.prefetched!.shift();
      return Promise.resolve(this.ops.handOut(ahead.p, token));
    }
    return this.ops.claim(this.claimOptions(token, name));
  }

  private sawToken(token: string): void {
    const colon = token.lastIndexOf(':');
    const n = colon > 0 ? Number(token.slice(colon + 1)) : NaN;
    if (!Number.isSafeInteger(n)) {
      this.tokenPrefix = undefined;
      return;
    }
    const prefix = token.slice(0, colon);
    if (prefix !== this.tokenPrefix) {
      this.tokenPrefix = prefix;
      this.guessNo = n + 1;
    }
    this.nextTokenNo = n + 1;
    if (this.guessNo < this.nextTokenNo) this.guessNo = this.nextTokenNo;
  }

  /** Puts back prefetched jobs claimed at least `age` ms ago (Infinity: all of them). */
  private putBackPrefetched(age: number): Promise<void> {
    const list = this.prefetched;
    if (!list || list.length === 0) return Promise.resolve();
    const cut = age === Infinity ? Infinity : performance.now() - age;
    let n = 0;
    while (n < list.length && (cut === Infinity || list[n]!.at <= cut)) n++;
    if (n === 0) return Promise.resolve();
    return this.ops.putBack(list.splice(0, n).map((e) => e.p));
  }

  private armPrefetchTimer(): void {
    if (this.prefetchTimer) return;
    this.prefetchTimer = setTimeout(() => {
      this.prefetchTimer = undefined;
      void this.putBackPrefetched(PREFETCH_HOLD_MS).catch(() => undefined);
      if (this.prefetched!.length > 0) this.armPrefetchTimer();
    }, PREFETCH_HOLD_MS);
    this.prefetchTimer.unref();
  }

  private keep(opt: boolean | number | KeepJobs | undefined, workerOpt: KeepJobs | undefined): Keep {
    if (opt === undefined) return (workerOpt as Keep | undefined) ?? { count: -1 };
    if (typeof opt === 'boolean') return { count: opt ? 0 : -1 };
    if (typeof opt === 'number') return { count: opt };
    return opt as Keep;
  }

  // Not async: the operation's promise goes to BullMQ as it is, one promise and one tick fewer per job.
  moveToCompleted<T, R, N extends string>(
    job: MinimalJob<T, R, N>,
    returnValue: R,
    removeOnComplete: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
  ): Promise<{ result: void | ClaimResult; finishedOn: number }> {
    return this.ops.complete(job.id!, JSON.stringify(returnValue === undefined ? null : returnValue) ?? 'null', token, {
      keep: this.keep(removeOnComplete, this.opts.removeOnComplete),
      attempts: job.opts.attempts ?? 1,
      metricsMaxDataPoints: this.opts.metrics?.maxDataPoints ?? 0,
      next: fetchNext && !this.closing ? this.claimOptions(token) : undefined,
    });
  }

  moveToFailed<T, R, N extends string>(
    job: MinimalJob<T, R, N>,
    failedReason: string,
    removeOnFail: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, unknown>,
  ): Promise<{ result: void | ClaimResult; finishedOn: number }> {
    const stack = typeof fieldsToUpdate?.['stacktrace'] === 'string' ? (fieldsToUpdate['stacktrace'] as string) : null;
    return this.ops.fail(job.id!, failedReason ?? '', stack, token, {
      keep: this.keep(removeOnFail, this.opts.removeOnFail),
      attempts: job.opts.attempts ?? 1,
      metricsMaxDataPoints: this.opts.metrics?.maxDataPoints ?? 0,
      next: fetchNext && !this.closing ? this.claimOptions(token) : undefined,
    });
  }

  async moveToDelayed(jobId: string, timestamp: number, delay: number, token?: string, opts?: MoveToDelayedOpts): Promise<void | ClaimResult | []> {
    const f = opts?.fieldsToUpdate ?? {};
    await this.ops.moveToDelayed(
      jobId,
      timestamp + delay,
      delay,
      token,
      opts?.skipAttempt ?? false,
      typeof f['failedReason'] === 'string' ? f['failedReason'] : null,
      typeof f['stacktrace'] === 'string' ? f['stacktrace'] : null,
    );
    if (opts?.fetchNext && token && !this.closing) {
      const next = await this.ops.claim(this.claimOptions(token));
      return next[0] ? next : [];
    }
    return [];
  }

  async moveToWaitingChildren(jobId: string, token: string, opts?: MoveToWaitingChildrenOpts): Promise<boolean> {
    const child = opts?.child ? `${opts.child.queue}:${opts.child.id}` : undefined;
    return this.ops.moveToWaitingChildren(jobId, token, child);
  }

  async moveJobFromActiveToWait(jobId: string, token = '0'): Promise<number> {
    return this.ops.activeToWait(jobId, token);
  }

  async retryJob(jobId: string, lifo: boolean, token?: string, opts?: RetryJobOpts): Promise<void> {
    const f = opts?.fieldsToUpdate ?? {};
    // A Worker's retry frees a slot its main loop refills at once with `moveToActive`: the job
    // for it is claimed here, in the retry's batch, instead of in a transaction of its own.
    const wanted = this.prefetched !== undefined && !this.closing && token !== undefined && token !== '0' && this.prefetched.length < MAX_PREFETCHED;
    // The worker's main loop asks once per freed slot, in order: the k-th prefetch outstanding
    // goes to the k-th call from now.
    const guess = wanted && this.tokenPrefix !== undefined ? this.guessNo++ : undefined;
    const prefetch = wanted ? this.claimOptions(guess === undefined ? this.prefetchToken : `${this.tokenPrefix}:${guess}`) : undefined;
    const next = await this.ops.retry(
      jobId,
      lifo ?? false,
      token,
      typeof f['failedReason'] === 'string' ? f['failedReason'] : null,
      typeof f['stacktrace'] === 'string' ? f['stacktrace'] : null,
      prefetch,
    );
    if (next === undefined) {
      // Nothing was claimed: the number guessed is the next call's again, unless taken since.
      if (guess !== undefined && this.guessNo === guess + 1) this.guessNo = guess;
      return;
    }
    if (this.closing) {
      await this.ops.putBack([next]);
      return;
    }
    this.prefetched!.push({ p: next, at: performance.now() });
    this.armPrefetchTimer();
  }

  async retryFinishedJob<T, R, N extends string>(job: MinimalJob<T, R, N>, state: 'failed' | 'completed', opts: RetryOptions = {}): Promise<void> {
    const code = await this.ops.reprocess(job.id!, state, job.opts.lifo ?? false, opts.resetAttemptsMade ?? false, opts.resetAttemptsStarted ?? false);
    if (code !== 1) throw finishedError({ code, jobId: job.id, command: 'reprocessJob', state });
  }

  async promote(jobId: string): Promise<void> {
    const code = await this.ops.promote(jobId);
    if (code < 0) throw finishedError({ code, jobId, command: 'promote', state: 'delayed' });
  }

  async moveStalledJobsToWait(): Promise<string[]> {
    return this.ops.recoverStalled(this.opts.maxStalledCount ?? 1, this.opts.stalledInterval ?? 30_000);
  }

  async retryFinishedJobs(state: 'completed' | 'failed' = 'failed', count = 1000, timestamp = Date.now()): Promise<number> {
    return this.ops.retryFinished(state, count, timestamp);
  }

  async promoteJobs(count = 1000): Promise<number> {
    return this.ops.promoteAll(count);
  }

  async pause(pause: boolean): Promise<void> {
    await this.ops.pause(pause);
  }

  async drain(delayed: boolean): Promise<void> {
    await this.ops.drain(delayed);
  }

  async cleanJobsByState(state: string, timestamp: number, limit = 0): Promise<string[]> {
    return this.ops.clean(state, timestamp, limit);
  }

  async obliterate(opts: { force: boolean; count: number }): Promise<number> {
    const r = await this.ops.obliterate(opts.force, opts.count);
    if (r === -1) throw new Error('Cannot obliterate non-paused queue');
    if (r === -2) throw new Error('Cannot obliterate queue with active jobs');
    return r;
  }

  async removeOrphanedJobs(_count?: number, _limit?: number): Promise<number> {
    // A job is one row whose state is a column: there is no state set it could be missing from.
    return 0;
  }

  // ------------------------------------------------------------ locks

  async extendLock(jobId: string, token: string, duration: number): Promise<number> {
    return (await this.ops.extendLocks([jobId], [token], duration)).length === 0 ? 1 : 0;
  }

  async extendLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    return this.ops.extendLocks(jobIds, tokens, duration);
  }

  /** Bull's `job.takeLock()` (not part of BullMQ's interface; used by the Bull facade). */
  async takeLock(jobId: string, token: string, duration: number): Promise<boolean> {
    return takeLock(this.ops, jobId, token, duration);
  }

  /** Bull's `limiter.groupKey`: 0 when a job of `group` may run now, else ms until it may. */
  async groupRateLimit(group: string, max: number, duration: number): Promise<number> {
    return takeGroupSlot(this.ops, group, max, duration);
  }

  /** Bull's `job.releaseLock()`: false when `token` does not hold the lock. */
  async releaseLock(jobId: string, token: string): Promise<boolean> {
    return releaseLock(this.ops, jobId, token);
  }

  // ------------------------------------------------------------ job fields

  async updateData<T, R, N extends string>(job: MinimalJob<T, R, N>, data: T): Promise<void> {
    const json = JSON.stringify(data === undefined ? {} : data);
    if (!(await this.ops.updateData(job.id!, json))) throw finishedError({ code: -1, jobId: job.id, command: 'updateData' });
  }

  async updateProgress(jobId: string, progress: JobProgress): Promise<void> {
    if (!(await this.ops.updateProgress(jobId, JSON.stringify(progress ?? null)))) {
      throw finishedError({ code: -1, jobId, command: 'updateProgress' });
    }
  }

  async addLog(jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    return this.ops.addLog(jobId, logRow, keepLogs);
  }

  async clearLogs(jobId: string, keepLogs?: number): Promise<void> {
    await this.ops.clearLogs(jobId, keepLogs);
  }

  async changeDelay(jobId: string, delay: number): Promise<void> {
    const code = await this.ops.changeDelay(jobId, delay);
    if (code < 0) throw finishedError({ code, jobId, command: 'changeDelay', state: 'delayed' });
  }

  async changePriority(jobId: string, priority = 0, lifo = false): Promise<void> {
    const code = await this.ops.changePriority(jobId, priority, lifo);
    if (code < 0) throw finishedError({ code, jobId, command: 'changePriority' });
  }

  async remove(jobId: string, removeChildren: boolean): Promise<number> {
    return this.ops.remove(jobId, removeChildren);
  }

  async removeUnprocessedChildren(jobId: string): Promise<void> {
    await this.ops.removeUnprocessedChildren(jobId);
  }

  async removeChildDependency(jobId: string, parentKey: string): Promise<boolean> {
    return this.ops.removeChildDependency(jobId, parentKey);
  }

  async removeDeduplicationKey(deduplicationId: string, jobId: string): Promise<number> {
    return this.ops.write(() => this.store.stmt('DELETE FROM jobs_dedup WHERE queue = ? AND dedup_id = ? AND job_id = ?').run(this.name, deduplicationId, jobId).changes);
  }

  async deleteDeduplicationKey(deduplicationId: string): Promise<number> {
    return this.ops.write(() => this.store.stmt('DELETE FROM jobs_dedup WHERE queue = ? AND dedup_id = ?').run(this.name, deduplicationId).changes);
  }

  // ------------------------------------------------------------ job schedulers

  async addJobScheduler(
    jobSchedulerId: string,
    nextMillis: number,
    templateData: string,
    templateOpts: JobsOptions,
    opts: RepeatableOptions,
    delayedJobOpts: JobsOptions,
    producerId?: string,
  ): Promise<[string, number]> {
    return this.schedulers.add(jobSchedulerId, nextMillis, templateData, templateOpts, opts, delayedJobOpts, producerId);
  }

  async updateJobSchedulerNextMillis(
    jobSchedulerId: string,
    nextMillis: number,
    templateData: string,
    delayedJobOpts: JobsOptions,
    producerId?: string,
  ): Promise<string | null> {
    return this.schedulers.updateNext(jobSchedulerId, nextMillis, templateData, delayedJobOpts, producerId);
  }

  async removeJobScheduler(jobSchedulerId: string): Promise<number> {
    return this.schedulers.remove(jobSchedulerId);
  }

  async getJobScheduler(id: string): Promise<[string[] | null, string | null]> {
    return this.schedulers.get(id);
  }

  async isJobScheduler(id: string): Promise<boolean> {
    return this.ops.isScheduler(id);
  }

  async getJobSchedulerData(key: string): Promise<Record<string, string>> {
    return this.schedulers.data(key);
  }

  async getJobSchedulersRange(start: number, end: number, asc: boolean): Promise<string[]> {
    return this.schedulers.range(start, end, asc);
  }

  async getJobSchedulersCount(): Promise<number> {
    return this.schedulers.count();
  }

  // ------------------------------------------------------------ queries

  async getState(jobId: string): Promise<JobState | 'unknown'> {
    return this.reads.state(jobId) as JobState | 'unknown';
  }

  async isFinished(jobId: string, returnValue?: boolean): Promise<number | [number, string]> {
    const r = this.reads.finished(jobId);
    return returnValue ? r : r[0];
  }

  async isMaxed(): Promise<boolean> {
    return this.reads.isMaxed();
  }

  async isJobInState(state: string, jobId: string): Promise<boolean> {
    return this.reads.inState(state, jobId);
  }

  async getJobData(jobId: string): Promise<JobJson | undefined> {
    return this.reads.job(jobId);
  }

  async getDeduplicationJobId(deduplicationId: string): Promise<string | null> {
    return this.reads.dedupJobId(deduplicationId);
  }

  async getJobLogs(jobId: string, start: number, end: number, asc: boolean): Promise<{ logs: string[]; count: number }> {
    return this.reads.logs(jobId, start, end, asc);
  }

  async getRateLimitTtl(maxJobs?: number): Promise<number> {
    return this.ops.rateLimitTtl(maxJobs);
  }

  async getCounts(types: JobType[], delayedTimestamp?: number): Promise<number[]> {
    return this.reads.counts(types, delayedTimestamp);
  }

  async getCountsPerPriority(priorities: number[]): Promise<number[]> {
    return this.reads.countsPerPriority(priorities);
  }

  async getRanges(types: JobType[], start = 0, end = -1, asc = false): Promise<[string][]> {
    return this.reads.ranges(types, start, end, asc) as unknown as [string][];
  }

  async getDependencyCounts(jobId: string, types: string[]): Promise<number[]> {
    const f = this.ops.flows;
    return types.map((t) => {
      switch (t) {
        case 'processed':
          return f.count(this.name, jobId, 'processed');
        case 'unprocessed':
          return f.count(this.name, jobId, 'pending');
        case 'ignored':
          return f.count(this.name, jobId, 'ignored');
        case 'failed':
          return f.count(this.name, jobId, 'failed');
        default:
          return 0;
      }
    });
  }

  async getDependencies(jobId: string, opts: DependenciesOpts): Promise<{
    nextFailedCursor?: number;
    failed?: string[];
    nextIgnoredCursor?: number;
    ignored?: Record<string, string>;
    nextProcessedCursor?: number;
    processed?: Record<string, string>;
    nextUnprocessedCursor?: number;
    unprocessed?: string[];
  }> {
    const f = this.ops.flows;
    const keyed = (rows: { child_key: string; value: string | null }[]): Record<string, string> =>
      Object.fromEntries(rows.map((r) => [r.child_key, r.value ?? '']));
    if (!opts.processed && !opts.unprocessed && !opts.ignored && !opts.failed) {
      return {
        processed: keyed(f.deps(this.name, jobId, 'processed')),
        unprocessed: f.deps(this.name, jobId, 'pending').map((r) => r.child_key),
        ignored: keyed(f.deps(this.name, jobId, 'ignored')),
        failed: f.deps(this.name, jobId, 'failed').map((r) => r.child_key),
      };
    }
    // Cursors are offsets; 0 means "no more", as with Redis SSCAN/HSCAN.
    const page = (status: 'processed' | 'pending' | 'ignored' | 'failed', o: { cursor?: number; count?: number }) => {
      const count = o.count ?? 20;
      const rows = f.deps(this.name, jobId, status, o.cursor ?? 0, count);
      return { rows, next: rows.length < count ? 0 : (o.cursor ?? 0) + count };
    };
    const out: Awaited<ReturnType<IQueueBackend['getDependencies']>> = {};
    if (opts.processed) {
      const p = page('processed', opts.processed);
      out.processed = keyed(p.rows);
      out.nextProcessedCursor = p.next;
    }
    if (opts.unprocessed) {
      const p = page('pending', opts.unprocessed);
      out.unprocessed = p.rows.map((r) => r.child_key);
      out.nextUnprocessedCursor = p.next;
    }
    if (opts.ignored) {
      const p = page('ignored', opts.ignored);
      out.ignored = keyed(p.rows);
      out.nextIgnoredCursor = p.next;
    }
    if (opts.failed) {
      const p = page('failed', opts.failed);
      out.failed = p.rows.map((r) => r.child_key);
      out.nextFailedCursor = p.next;
    }
    return out;
  }

  async getProcessedChildrenValues(jobId: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.ops.flows.deps(this.name, jobId, 'processed').map((r) => [r.child_key, r.value ?? 'null']));
  }

  async getIgnoredChildrenFailures(jobId: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.ops.flows.deps(this.name, jobId, 'ignored').map((r) => [r.child_key, r.value ?? '']));
  }

  async getMetrics(type: 'completed' | 'failed', start = 0, end = -1): Promise<[string[], string[], number]> {
    return this.ops.getMetrics(type, start, end);
  }

  async getClientList(): Promise<string[]> {
    return [WorkerRegistry.clientList(this.store, this.name)];
  }

  /**
   * The sets and hashes of a parent that Redis lets BullMQ page: `<queue>:<id>:dependencies`
   * (pending children, a set), `:processed` (children's return values) and `:failed` (ignored
   * children's failure reasons), both hashes whose values come back JSON-parsed, or, as from
   * Redis, with the parse error in `err` when a value is not JSON (a plain-text reason).
   */
  async paginate(
    key: string,
    opts: { start: number; end: number; fetchJobs?: boolean },
  ): Promise<{ cursor: string; items: { id: string; v?: unknown; err?: string }[]; total: number; jobs?: JobJson[] }> {
    const inner = key.startsWith(`${this.name}:`) ? key.slice(this.name.length + 1) : key;
    const suffix = inner.slice(inner.lastIndexOf(':') + 1);
    const status = ({ dependencies: 'pending', processed: 'processed', failed: 'ignored' } as const)[suffix as 'dependencies' | 'processed' | 'failed'];
    if (!inner.includes(':') || status === undefined) {
      throw new UnsupportedOperationError(`paginate(${key})`, "only a parent's :dependencies, :processed and :failed children can be paged");
    }
    const parentId = inner.slice(0, inner.lastIndexOf(':'));
    const f = this.ops.flows;
    const total = f.count(this.name, parentId, status);
    const start = Math.max(opts.start ?? 0, 0);
    const limit = opts.end !== undefined && opts.end >= 0 ? opts.end - start + 1 : -1;
    const rows = f.deps(this.name, parentId, status, start, limit);
    const item = (r: { child_key: string; value: string | null }): { id: string; v?: unknown; err?: string } => {
      if (status === 'pending') return { id: r.child_key };
      try {
        return { id: r.child_key, v: JSON.parse(r.value ?? 'null') as unknown };
      } catch (err) {
        return { id: r.child_key, err: (err as Error).message };
      }
    };
    const result: { cursor: string; items: { id: string; v?: unknown; err?: string }[]; total: number; jobs?: JobJson[] } = {
      cursor: '0',
      items: rows.map(item),
      total,
    };
    if (opts.fetchJobs) {
      result.jobs = rows.map((r) => new QueueReads(this.store, r.child_queue).job(r.child_id)).filter((j): j is JobJson => j !== undefined);
    }
    return result;
  }

  // ------------------------------------------------------------ queue metadata

  async setQueueMeta(values: Record<string, string | number>): Promise<number> {
    return this.ops.setMeta(values);
  }

  async getQueueMetaField(field: string): Promise<string | null> {
    return this.reads.metaField(field);
  }

  async getQueueMetaFields(fields: string[]): Promise<(string | null)[]> {
    return fields.map((f) => this.reads.metaField(f));
  }

  async getQueueMeta(): Promise<Record<string, string>> {
    return this.reads.meta();
  }

  async removeQueueMetaFields(fields: string[]): Promise<number> {
    return this.ops.removeMeta(fields);
  }

  async hasQueueMetaField(field: string): Promise<boolean> {
    return this.reads.metaField(field) !== null;
  }

  async setRateLimit(expireTimeMs: number): Promise<void> {
    await this.ops.setRateLimit(expireTimeMs);
  }

  async removeRateLimitKey(): Promise<number> {
    return this.ops.removeRateLimit();
  }

  async removeDeprecatedPriorityKey(): Promise<number> {
    // Redis kept a priority counter key in BullMQ < 5; this store never had one.
    return 0;
  }

  // ------------------------------------------------------------ events

  async trimEvents(maxLength: number): Promise<number> {
    return this.ops.write(() => this.ops.trimEvents(maxLength));
  }

  async publishEvent(fields: Record<string, string | number>, _maxEvents: number): Promise<string> {
    const { event, ...rest } = fields;
    await this.ops.write((ev) => ev.push(String(event), rest));
    return this.reads.latestEventId();
  }

  async readEvents(id: string, blockTimeout: number): Promise<StreamReadRaw> {
    if (this.closing) return null;
    let cursor = id;
    if (id === '$') {
      cursor = this.startCursor ?? this.reads.latestEventId();
      this.startCursor = undefined;
    }
    this.subscribeEvents();
    let entries = this.reads.eventsAfter(cursor, EVENT_BATCH);
    if (entries.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(blockTimeout || 10_000, 1));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.eventWaiter = () => {
          this.eventWaiter = undefined;
          done();
        };
      });
      this.eventWaiter = undefined;
      if (this.closing) return null;
      entries = this.reads.eventsAfter(cursor, EVENT_BATCH);
    }
    if (entries.length === 0) {
      // Keep "$" meaning "after what existed when the read began" for the next call.
      if (id === '$') this.startCursor = cursor;
      return null;
    }
    return [["events", entries]] as unknown as StreamReadRaw;
  }

  private subscribeEvents(): void {
    if (this.subscribedEvents) return;
    this.subscribedEvents = true;
    this.unsubscribers.push(this.store.waker.subscribe(this.ops.eventsTopic, () => this.eventWaiter?.()));
  }

  private subscribeJobs(): void {
    if (this.subscribedJobs) return;
    this.subscribedJobs = true;
    this.unsubscribers.push(this.store.waker.subscribe(this.ops.jobsTopic, () => this.jobWaiter?.()));
  }

  /**
   * Parks until a job may be claimable: a signal from a producer (this process or another),
   * the next delayed job's due time, or `blockTimeout` seconds. Checks the store after
   * subscribing, so a job added just before the wait began is not missed.
   */
  async waitForJob(blockTimeout: number): Promise<{ member: string; score: number } | null> {
    if (this.closing || this.blockingDisconnected) return null;
    this.subscribeJobs();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (v: { member: string; score: number } | null): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.jobWaiter = undefined;
        this.cancelJobWait = undefined;
        resolve(v);
      };
      const deadline = Date.now() + Math.max(blockTimeout, 0) * 1000;
      // (Re)arms the timer at the earlier of the block timeout and the next delayed job's due time.
      const arm = (now: number): void => {
        if (timer) clearTimeout(timer);
        const due = this.ops.nextDelayedAt();
        const until = due === null ? deadline : Math.min(deadline, due);
        timer = setTimeout(() => finish(null), Math.max(until - now, 0));
      };
      // A wake-up only ends the wait when there is something to claim; otherwise (say, a delayed
      // job was added) it re-arms the timer, sparing the worker a claim transaction per add.
      this.jobWaiter = () => {
        const now = Date.now();
        if (this.ops.hasClaimable(now)) finish({ member: this.name, score: 0 });
        else arm(now);
      };
      this.cancelJobWait = () => finish(null);
      const now = Date.now();
      if (this.ops.hasClaimable(now)) {
        // Through the event loop, not a microtask: a claim that then finds nothing (a race with
        // another worker) must not turn wait/claim into a loop that starves timers and I/O.
        setImmediate(() => finish({ member: this.name, score: 0 }));
        return;
      }
      arm(now);
    });
  }

  async disconnectBlocking(_wait?: boolean): Promise<void> {
    this.blockingDisconnected = true;
    this.cancelJobWait?.();
  }

  async reconnectBlocking(): Promise<void> {
    this.blockingDisconnected = false;
  }
}

/**
 * BullMQ `BackendFactory` for Railyard:
 * `new Queue('mail', { connection: { dataDir: '.railyard' } }, createRailyardBackend)`.
 */
export const createRailyardBackend: BackendFactory<RailyardQueueBackend, RailyardConnectionOptions> = (name, opts, factoryOpts) =>
  RailyardQueueBackend.create(name, opts, factoryOpts?.blocking ?? false, factoryOpts?.withBlockingConnection ?? false);
