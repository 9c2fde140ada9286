import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { DelayedError, Queue as MqQueue, QueueEvents as MqQueueEvents, Worker as MqWorker, UnrecoverableError, type Job as MqJob, type JobProgress, type JobType, type MinimalJob, type WorkerOptions } from 'bullmq';
import { createRailyardBackend, type RailyardConnectionOptions, type RailyardQueueBackend } from '../backend.js';
import { InvalidArgumentError } from '../../errors.js';
import { UnsupportedOperationError } from '../errors.js';
import { BullJob, type BullJobStatus } from './job.js';
import { globToRegExp } from './glob.js';
import { SandboxFiles } from './sandbox.js';
import { FacadeMqQueue } from './mq-queue.js';
import {
  assertJsonData,
  repeatKey,
  toBullmqOptions,
  validateBullOptions,
  validateLimiter,
  type BullJobOptions,
  type BullQueueOptions,
  type BullRepeatOptions,
} from './options.js';

export type DoneCallback = (error?: Error | null, value?: unknown) => void;
export type ProcessCallbackFunction<T> = (job: BullJob<T>, done: DoneCallback) => void;
export type ProcessPromiseFunction<T> = (job: BullJob<T>) => Promise<unknown>;
type Handler<T> = ProcessCallbackFunction<T> | ProcessPromiseFunction<T>;

export interface JobCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  paused: number;
}

export interface JobInformation {
  key: string;
  name: string;
  id?: string | undefined;
  endDate?: number | undefined;
  tz?: string | undefined;
  cron: string;
  every: number;
  next: number;
}

type Queueish = MqQueue<unknown, unknown, string, unknown, unknown, string, RailyardQueueBackend, RailyardConnectionOptions>;
type Worker = MqWorker<unknown, unknown, string, RailyardQueueBackend, JobProgress, RailyardConnectionOptions>;
type QueueEvents = MqQueueEvents<unknown, RailyardQueueBackend, RailyardConnectionOptions>;

const DEFAULT_NAME = '__default__';
const GLOBAL_EVENTS = ['completed', 'failed', 'active', 'waiting', 'stalled', 'progress', 'paused', 'resumed', 'drained', 'duplicated'] as const;

/**
 * Bull 4's `Queue` (`queue.add`, `queue.process`, `global:` events, ...) on stock BullMQ classes
 * with the Railyard backend, so Bull-style code runs on a data dir instead of Redis. One BullMQ
 * Worker per facade queue runs every `process()` handler, dispatching by job name, with the sum
 * of their concurrencies, as Bull does.
 */
export class Queue<T = unknown> extends EventEmitter {
  readonly name: string;
  private readonly opts: BullQueueOptions;
  private readonly connection: { dataDir: string };
  private readonly mq: Queueish;
  private worker: Worker | undefined;
  private workerRun: Promise<void> | undefined;
  private eventsReady: Promise<QueueEvents> | undefined;
  /** Handlers by job name: functions run here, paths (processor files) in child processes. */
  private readonly handlers = new Map<string, Handler<T> | string>();
  private sandbox: SandboxFiles | undefined;
  private concurrency = 0;
  private readonly running = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  /** Bull locks jobs with one token per queue instance; jobs taken by getNextJob carry this one. */
  private readonly token = randomUUID();
  /** The BullMQ Worker behind getNextJob (manual processing), created on first use. */
  private manual: Worker | undefined;

  constructor(name: string, dataDirOrOpts?: string | BullQueueOptions, maybeOpts?: BullQueueOptions) {
    super();
    if (typeof name !== 'string' || name === '' || name.includes(':')) {
      throw new InvalidArgumentError('name', name, 'a non-empty queue name without ":"');
    }
    this.name = name;
    const opts: BullQueueOptions = typeof dataDirOrOpts === 'string' ? { ...maybeOpts, dataDir: dataDirOrOpts } : { ...dataDirOrOpts };
    validateLimiter(opts.limiter);
    this.opts = opts;
    this.connection = { dataDir: opts.dataDir ?? process.env['RAILYARD_DATA_DIR'] ?? '.railyard' };
    this.mq = new FacadeMqQueue(name, { connection: this.connection }, createRailyardBackend);
    this.mq.on('error', (err: Error) => this.emit('error', err));
    // Bull subscribes to global events when a `global:` listener is added; so do we.
    this.on('newListener', (event: string | symbol) => {
      if (typeof event === 'string' && event.startsWith('global:')) void this.globalEvents();
    });
  }

  /** Resolves once the store is open (Bull: once Redis is connected). */
  async isReady(): Promise<this> {
    await this.mq.waitUntilReady();
    return this;
  }

  // ------------------------------------------------------------ adding

  add(data: T, opts?: BullJobOptions): Promise<BullJob<T>>;
  add(name: string, data: T, opts?: BullJobOptions): Promise<BullJob<T>>;
  async add(a: string | T, b?: T | BullJobOptions, c?: BullJobOptions): Promise<BullJob<T>> {
    // Bull's rule: a string first argument is the job name.
    const named = typeof a === 'string';
    const name = named ? (a as string) : DEFAULT_NAME;
    const data = (named ? b : a) as T;
    const opts: BullJobOptions = { ...this.opts.defaultJobOptions, ...((named ? c : b) as BullJobOptions | undefined) };
    assertJsonData(data);
    validateBullOptions(opts, this.opts.settings?.backoffStrategies);
    if (opts.repeat) return this.addRepeatable(name, data, opts);
    const job = await this.mq.add(name, data, toBullmqOptions(opts));
    this.emit('waiting', job.id, null);
    return this.wrap(job, true);
  }

  async addBulk(jobs: { name?: string; data: T; opts?: BullJobOptions }[]): Promise<BullJob<T>[]> {
    const entries = jobs.map((j) => {
      const opts: BullJobOptions = { ...this.opts.defaultJobOptions, ...j.opts };
      assertJsonData(j.data);
      validateBullOptions(opts, this.opts.settings?.backoffStrategies);
      if (opts.repeat) throw new InvalidArgumentError('opts.repeat', opts.repeat, 'not allowed in addBulk (as in Bull)');
      return { name: j.name ?? DEFAULT_NAME, data: j.data, opts: toBullmqOptions(opts) };
    });
    const added = await this.mq.addBulk(entries);
    return added.map((j) => this.wrap(j, true));
  }

  private async addRepeatable(name: string, data: T, opts: BullJobOptions): Promise<BullJob<T>> {
    const r = opts.repeat!;
    const { repeat: _r, jobId, ...rest } = opts;
    const key = repeatKey(name, r, jobId);
    const job = await this.mq.upsertJobScheduler(
      key,
      {
        ...(r.cron ? { pattern: r.cron } : { every: r.every! }),
        ...(r.tz ? { tz: r.tz } : {}),
        ...(r.startDate !== undefined ? { startDate: r.startDate } : {}),
        ...(r.endDate !== undefined ? { endDate: r.endDate } : {}),
        ...(r.limit !== undefined ? { limit: r.limit } : {}),
        ...(r.count !== undefined ? { count: r.count } : {}),
      },
      { name, data, opts: toBullmqOptions(rest) },
    );
    if (!job) throw new InvalidArgumentError('opts.repeat', r, 'a schedule with a run still ahead (limit or endDate already reached)');
    return this.wrap(job, true);
  }

  async getRepeatableJobs(start = 0, end = -1, asc = false): Promise<JobInformation[]> {
    const list = await this.mq.getJobSchedulers(start, end, asc);
    return list.map((s) => {
      const parts = s.key.split(':');
      return {
        key: s.key,
        name: s.name,
        id: parts[1] || undefined,
        endDate: s.endDate ?? undefined,
        tz: s.tz ?? undefined,
        cron: s.pattern ?? '',
        every: s.every ?? 0,
        next: s.next ?? 0,
      } as JobInformation;
    });
  }

  async getRepeatableCount(): Promise<number> {
    return this.mq.getJobSchedulersCount();
  }

  removeRepeatable(repeat: BullRepeatOptions & { jobId?: string | number }): Promise<void>;
  removeRepeatable(name: string, repeat: BullRepeatOptions & { jobId?: string | number }): Promise<void>;
  async removeRepeatable(a: string | (BullRepeatOptions & { jobId?: string | number }), b?: BullRepeatOptions & { jobId?: string | number }): Promise<void> {
    const name = typeof a === 'string' ? a : DEFAULT_NAME;
    const r = (typeof a === 'string' ? b : a)!;
    await this.mq.removeJobScheduler(repeatKey(name, r, r.jobId));
  }

  async removeRepeatableByKey(key: string): Promise<void> {
    await this.mq.removeJobScheduler(key);
  }

  // ------------------------------------------------------------ processing

  process(handler: Handler<T> | string): Promise<void>;
  process(concurrency: number, handler: Handler<T> | string): Promise<void>;
  process(name: string, handler: Handler<T> | string): Promise<void>;
  process(name: string, concurrency: number, handler: Handler<T> | string): Promise<void>;
  process(a: string | number | Handler<T>, b?: number | Handler<T> | string, c?: Handler<T> | string): Promise<void> {
    const args = [a, b, c].filter((x) => x !== undefined);
    const handler = args.pop();
    // Bull's overloads: a string last argument is a processor file (sandboxed), not a name.
    const file = typeof handler === 'string' ? SandboxFiles.resolve(handler) : undefined;
    if (file === undefined && typeof handler !== 'function') {
      throw new InvalidArgumentError('handler', handler, 'a function or the path of an existing processor file');
    }
    const name = typeof args[0] === 'string' ? (args.shift() as string) : DEFAULT_NAME;
    const concurrency = typeof args[0] === 'number' ? (args.shift() as number) : 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError('concurrency', concurrency, 'an integer >= 1');
    if (this.handlers.has(name)) throw new Error(`Cannot define the same handler twice ${name}`);
    // One BullMQ Worker runs every handler of the queue: in this process or in child processes.
    if (this.handlers.size > 0 && (this.sandbox !== undefined) !== (file !== undefined)) {
      throw new InvalidArgumentError('handler', handler, "the same kind as this queue's other handlers (all functions, or all processor files)");
    }
    if (file !== undefined && this.opts.limiter?.groupKey) {
      throw new InvalidArgumentError('limiter.groupKey', this.opts.limiter.groupKey, 'only with handler functions: processor files run without a per-group limit');
    }
    if (file !== undefined) (this.sandbox ??= new SandboxFiles()).add(name, file);
    this.handlers.set(name, file ?? (handler as Handler<T>));
    this.concurrency += concurrency;
    if (this.worker) {
      this.worker.concurrency = this.concurrency;
      return this.workerRun!;
    }
    this.worker = this.createWorker();
    // Started on the next turn, so process() calls made together share one worker and concurrency.
    // As in Bull, the returned promise settles when processing stops (the queue is closed).
    this.workerRun = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      this.worker!.concurrency = this.concurrency;
      // Reported as an 'error' event, never as a rejection nobody is waiting for.
      await this.worker!.run().catch((err: Error) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
    });
    return this.workerRun;
  }

  private createWorker(): Worker {
    const sandbox = this.sandbox;
    const w = sandbox
      ? new MqWorker(this.name, sandbox.wrapper, this.workerOptions(), createRailyardBackend)
      : new MqWorker(this.name, (job: MqJob, token?: string) => this.dispatch(job, token), this.workerOptions(), createRailyardBackend);
    // Sandboxed jobs do not pass through dispatch(), which emits `active` for in-process ones.
    if (sandbox) w.on('active', (job: MqJob) => this.emit('active', this.wrap(job), undefined));
    w.on('completed', (job: MqJob, result: unknown) => this.emit('completed', this.wrap(job), result));
    w.on('failed', (job: MqJob | undefined, err: Error) => job && this.emit('failed', this.wrap(job), err));
    w.on('progress', (job: MqJob, progress: unknown) => this.emit('progress', this.wrap(job), progress));
    w.on('drained', () => this.emit('drained'));
    w.on('error', (err: Error) => this.emit('error', err));
    w.on('stalled', (jobId: string) => {
      void this.mq.getJob(jobId).then((job) => job && this.emit('stalled', this.wrap(job)));
    });
    return w;
  }

  /** BullMQ Worker options from Bull's settings, shared by the processing and the manual worker. */
  private workerOptions(): WorkerOptions<RailyardConnectionOptions> {
    const s = this.opts.settings ?? {};
    const strategies = s.backoffStrategies;
    return {
        connection: this.connection,
        autorun: false,
        concurrency: 1,
        ...(s.lockDuration !== undefined ? { lockDuration: s.lockDuration } : {}),
        ...(s.lockRenewTime !== undefined ? { lockRenewTime: s.lockRenewTime } : {}),
        ...(s.stalledInterval !== undefined ? { stalledInterval: s.stalledInterval } : {}),
        ...(s.maxStalledCount !== undefined ? { maxStalledCount: s.maxStalledCount } : {}),
        ...(s.drainDelay !== undefined ? { drainDelay: s.drainDelay } : {}),
        // With a groupKey the limit is per group, applied in dispatch(), not to the whole queue.
        ...(this.opts.limiter && !this.opts.limiter.groupKey ? { limiter: { max: this.opts.limiter.max, duration: this.opts.limiter.duration } } : {}),
        ...(this.opts.metrics?.maxDataPoints ? { metrics: { maxDataPoints: this.opts.metrics.maxDataPoints } } : {}),
        ...(strategies
          ? {
              settings: {
                backoffStrategy: (attemptsMade: number, type?: string, err?: Error, job?: MinimalJob): number => {
                  const f = type ? strategies[type] : undefined;
                  if (!f) throw new Error(`Unknown backoff strategy ${type}`);
                  const backoff = job?.opts.backoff as { options?: unknown } | undefined;
                  return f(attemptsMade, err ?? new Error('unknown'), backoff?.options);
                },
              },
            }
          : {}),
    };
  }

  private async dispatch(mqJob: MqJob, token?: string): Promise<unknown> {
    const limiter = this.opts.limiter;
    if (limiter?.groupKey) {
      // Over its group's limit the job waits, delayed, for the group's window to end (Bull's
      // default, bounceBack false); it has not started, so no attempt is used up.
      const group = String((mqJob.data as Record<string, unknown> | null)?.[limiter.groupKey]);
      const wait = await this.mq.backend.groupRateLimit(group, limiter.max, limiter.duration);
      if (wait > 0) {
        await mqJob.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
    }
    return this.run(mqJob);
  }

  private run(mqJob: MqJob): Promise<unknown> {
    const handler = this.handlers.get(mqJob.name) ?? this.handlers.get('*');
    const job = this.wrap(mqJob);
    let run: Promise<unknown>;
    // Files never get here: a queue with processor files runs them all in the sandbox.
    if (!handler || typeof handler === 'string') {
      run = Promise.reject(new Error(`Missing process handler for job type ${mqJob.name}`));
    } else if (handler.length >= 2) {
      run = new Promise((resolve, reject) => {
        (handler as ProcessCallbackFunction<T>)(job, (err, value) => (err ? reject(err) : resolve(value)));
      });
    } else {
      run = Promise.resolve().then(() => (handler as ProcessPromiseFunction<T>)(job));
    }
    // A discarded job (Bull's job.discard()) is not retried, whatever attempts remain.
    run = run.catch((err: unknown) => {
      if (job.discarded && !(err instanceof UnrecoverableError)) {
        throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
      }
      throw err;
    });
    const timeout = (mqJob.opts as BullJobOptions).timeout;
    if (timeout) {
      let timer: NodeJS.Timeout;
      run = Promise.race([
        run,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Promise timed out after ${timeout} milliseconds`)), timeout);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    this.running.add(run);
    const untrack = (): void => void this.running.delete(run);
    run.then(untrack, untrack);
    this.emit('active', job, run);
    return run;
  }

  /** Resolves when the jobs this process is running right now have finished. */
  async whenCurrentJobsFinished(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  // ------------------------------------------------------------ pausing

  async pause(isLocal = false, doNotWaitActive = false): Promise<void> {
    if (isLocal) {
      await this.worker?.pause(doNotWaitActive);
    } else {
      await this.mq.pause();
    }
    this.emit('paused');
  }

  async resume(isLocal = false): Promise<void> {
    if (isLocal) this.worker?.resume();
    else await this.mq.resume();
    this.emit('resumed');
  }

  async isPaused(isLocal = false): Promise<boolean> {
    if (isLocal) return this.worker?.isPaused() ?? false;
    return this.mq.isPaused();
  }

  // ------------------------------------------------------------ reading

  async getJob(jobId: string | number): Promise<BullJob<T> | null> {
    const job = await this.mq.getJob(String(jobId));
    return job ? this.wrap(job) : null;
  }

  /**
   * Bull keeps prioritized jobs in its wait list and moves wait to a paused list on pause;
   * BullMQ counts them apart and pauses with a flag. Bull's view is rebuilt from BullMQ's.
   */
  async getJobCounts(...types: (BullJobStatus | BullJobStatus[])[]): Promise<JobCounts> {
    const asked = types.flat();
    const wanted: BullJobStatus[] = asked.length ? asked : ['waiting', 'active', 'completed', 'failed', 'delayed', 'paused'];
    const c = await this.mq.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
    const paused = await this.mq.isPaused();
    const queued = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0);
    const all: Record<string, number> = {
      waiting: paused ? 0 : queued,
      paused: paused ? queued : 0,
      active: c['active'] ?? 0,
      completed: c['completed'] ?? 0,
      failed: c['failed'] ?? 0,
      delayed: c['delayed'] ?? 0,
    };
    const out: Record<string, number> = {};
    for (const t of wanted) out[t] = all[t] ?? 0;
    return out as unknown as JobCounts;
  }

  async getJobCountByTypes(types: BullJobStatus[] | BullJobStatus): Promise<number> {
    const counts = await this.getJobCounts(...(Array.isArray(types) ? types : [types]));
    return Object.values(counts).reduce((a: number, b: number) => a + b, 0);
  }

  getCompletedCount(): Promise<number> {
    return this.getJobCountByTypes('completed');
  }
  getFailedCount(): Promise<number> {
    return this.getJobCountByTypes('failed');
  }
  getDelayedCount(): Promise<number> {
    return this.getJobCountByTypes('delayed');
  }
  getWaitingCount(): Promise<number> {
    return this.getJobCountByTypes('waiting');
  }
  getPausedCount(): Promise<number> {
    return this.getJobCountByTypes('paused');
  }
  getActiveCount(): Promise<number> {
    return this.getJobCountByTypes('active');
  }

  /** Jobs waiting, paused or delayed (Bull's count()). */
  async count(): Promise<number> {
    return this.getJobCountByTypes(['waiting', 'paused', 'delayed']);
  }

  async getCountsPerPriority(priorities: number[]): Promise<Record<string, number>> {
    return this.mq.getCountsPerPriority(priorities);
  }

  async getJobs(types: BullJobStatus[], start = 0, end = -1, asc = false): Promise<BullJob<T>[]> {
    const paused = await this.mq.isPaused();
    const mqTypes = new Set<JobType>();
    for (const t of types) {
      if (t === 'waiting' && !paused) mqTypes.add('waiting').add('prioritized');
      else if (t === 'paused' && paused) mqTypes.add('waiting').add('prioritized');
      else if (t !== 'waiting' && t !== 'paused' && t !== 'stuck') mqTypes.add(t);
    }
    if (mqTypes.size === 0) return [];
    const jobs = await this.mq.getJobs([...mqTypes], start, end, asc);
    return jobs.map((j) => this.wrap(j));
  }

  getWaiting(start = 0, end = -1): Promise<BullJob<T>[]> {
    return this.getJobs(['waiting'], start, end, true);
  }
  getActive(start = 0, end = -1): Promise<BullJob<T>[]> {
    return this.getJobs(['active'], start, end, true);
  }
  getDelayed(start = 0, end = -1): Promise<BullJob<T>[]> {
    return this.getJobs(['delayed'], start, end, true);
  }
  getCompleted(start = 0, end = -1): Promise<BullJob<T>[]> {
    return this.getJobs(['completed'], start, end, false);
  }
  getFailed(start = 0, end = -1): Promise<BullJob<T>[]> {
    return this.getJobs(['failed'], start, end, false);
  }

  async getJobLogs(jobId: string | number, start = 0, end = -1): Promise<{ logs: string[]; count: number }> {
    return this.mq.getJobLogs(String(jobId), start, end);
  }

  async getMetrics(type: 'completed' | 'failed', start = 0, end = -1): Promise<{ meta: { count: number; prevTS: number; prevCount: number }; data: number[]; count: number }> {
    return this.mq.getMetrics(type, start, end);
  }

  // ------------------------------------------------------------ removing

  /** Removes jobs of `status` older than `grace` ms; resolves with their ids and emits `cleaned`. */
  async clean(grace: number, status: 'completed' | 'wait' | 'active' | 'paused' | 'delayed' | 'failed' = 'completed', limit = 0): Promise<string[]> {
    if (grace === undefined || grace === null || !Number.isFinite(grace) || grace < 0) {
      throw new InvalidArgumentError('grace', grace, 'a grace period in ms >= 0');
    }
    let ids: string[];
    if (status === 'wait' || status === 'paused') {
      ids = [...(await this.mq.clean(grace, limit, 'wait')), ...(await this.mq.clean(grace, limit, 'prioritized'))];
    } else {
      ids = await this.mq.clean(grace, limit, status);
    }
    this.emit('cleaned', ids, status);
    return ids;
  }

  /** Removes every waiting, paused and delayed job (Bull's `empty()`); active and finished jobs stay. */
  async empty(): Promise<void> {
    await this.mq.drain(true);
  }

  async obliterate(opts: { force: boolean } = { force: false }): Promise<void> {
    await this.mq.obliterate(opts);
  }

  async close(doNotWaitJobs = false): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (this.worker) await this.worker.close(doNotWaitJobs);
        if (this.manual) await this.manual.close(true);
        this.sandbox?.remove();
        if (this.eventsReady) await (await this.eventsReady).close();
        await this.mq.close();
        this.emit('close');
      })();
    }
    return this.closing;
  }

  // ------------------------------------------------------------ Redis-only API

  // ------------------------------------------------------------ manual processing

  /**
   * Moves the next job to active, locked by this queue instance, and returns it (Bull's manual
   * processing); waits up to `settings.drainDelay` seconds (5) when there is none, then resolves
   * undefined. Finish it with `job.moveToCompleted()` / `job.moveToFailed()`.
   */
  async getNextJob(): Promise<BullJob<T> | undefined> {
    if (this.closing) return undefined;
    this.manual ??= new MqWorker(this.name, undefined, { ...this.workerOptions(), autorun: false }, createRailyardBackend);
    const job = await this.manual.getNextJob(this.token, { block: true });
    return job ? this.wrap(job) : undefined;
  }

  /** The workers (processing queues) of every process on this data dir, as BullMQ lists them. */
  async getWorkers(): Promise<{ [index: string]: string }[]> {
    return this.mq.getWorkers();
  }

  /**
   * Removes the jobs whose id matches a Redis glob pattern (`*`, `?`, `[...]`), in any state,
   * except active jobs whose lock is live, as Bull's `removeJobs`.
   */
  async removeJobs(pattern: string): Promise<void> {
    const match = globToRegExp(pattern);
    // Ids only: a large queue's jobs are not loaded just to test their ids.
    const ids = await this.mq.getRanges(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed', 'waiting-children'], 0, -1);
    for (const id of new Set(ids)) if (match.test(id)) await this.mq.remove(id);
  }

  multi(): never {
    throw new UnsupportedOperationError('Queue.multi', 'there is no Redis pipeline');
  }

  // ------------------------------------------------------------ internals

  private wrap(job: MqJob, fresh = false): BullJob<T> {
    return new BullJob<T>(job, {
      name: this.name,
      token: this.token,
      lockDuration: this.opts.settings?.lockDuration ?? 30_000,
      backend: this.mq.backend,
      isPaused: () => this.mq.isPaused(),
      finished: (j) => this.finishedOf(j),
      emitRemoved: (j) => this.emit('removed', j),
    }, fresh);
  }

  private async finishedOf(job: MqJob): Promise<unknown> {
    const qe = await this.globalEvents();
    return job.waitUntilFinished(qe);
  }

  /** The QueueEvents behind `global:` events and `job.finished()`, created on first use. */
  private globalEvents(): Promise<QueueEvents> {
    if (!this.eventsReady) {
      const qe = new MqQueueEvents(this.name, { connection: this.connection }, createRailyardBackend);
      qe.on('error', (err: Error) => this.emit('error', err));
      for (const ev of GLOBAL_EVENTS) {
        qe.on(ev, (args: Record<string, unknown> | string) => {
          const a = typeof args === 'object' && args !== null ? args : {};
          const id = a['jobId'];
          switch (ev) {
            case 'completed':
              // Bull hands global listeners the stored (JSON) form of the result.
              this.emit('global:completed', id, JSON.stringify(a['returnvalue'] ?? null), 'active');
              break;
            case 'failed':
              this.emit('global:failed', id, a['failedReason'], 'active');
              break;
            case 'active':
              this.emit('global:active', id, 'waiting');
              break;
            case 'waiting':
              this.emit('global:waiting', id, null);
              break;
            case 'progress':
              this.emit('global:progress', id, a['data']);
              break;
            case 'paused':
            case 'resumed':
            case 'drained':
              this.emit(`global:${ev}`);
              break;
            default:
              this.emit(`global:${ev}`, id);
          }
        });
      }
      this.eventsReady = qe.waitUntilReady().then(() => qe);
    }
    return this.eventsReady;
  }
}

