import { UnrecoverableError, type Job as MqJob, type JobJson, type JobProgress } from 'bullmq';
import type { BullJobOptions } from './options.js';
import type { RailyardQueueBackend } from '../backend.js';

export type BullJobStatus = 'completed' | 'waiting' | 'active' | 'delayed' | 'failed' | 'paused' | 'stuck';

/** What a Bull job needs from its queue facade. */
export interface BullJobHost {
  readonly name: string;
  /** The queue instance's lock token (Bull: `queue.token`). */
  readonly token: string;
  readonly lockDuration: number;
  readonly backend: RailyardQueueBackend;
  isPaused(): Promise<boolean>;
  finished(job: MqJob): Promise<unknown>;
  emitRemoved(job: BullJob): void;
}

/**
 * Bull 4's `Job` over a BullMQ job: the same fields (read live from the BullMQ job) and methods,
 * with `progress()` as Bull's getter/setter pair.
 */
export class BullJob<T = unknown> {
  /** `fresh`: the job `add` just made, whose data Bull hands back as given, never as stored text. */
  constructor(
    readonly mq: MqJob,
    private readonly host: BullJobHost,
    private readonly fresh = false,
  ) {}

  get id(): string {
    return this.mq.id!;
  }
  get name(): string {
    return this.mq.name;
  }
  get data(): T {
    if (!this.fresh && this.opts.preventParsingData) return JSON.stringify(this.mq.data) as T;
    return this.mq.data as T;
  }
  get opts(): BullJobOptions {
    return this.mq.opts as BullJobOptions;
  }
  get attemptsMade(): number {
    return this.mq.attemptsMade;
  }
  get processedOn(): number | undefined {
    return this.mq.processedOn;
  }
  get finishedOn(): number | undefined {
    return this.mq.finishedOn;
  }
  get timestamp(): number {
    return this.mq.timestamp;
  }
  get delay(): number {
    return this.mq.delay;
  }
  get stacktrace(): string[] {
    return this.mq.stacktrace ?? [];
  }
  get returnvalue(): unknown {
    return this.mq.returnvalue;
  }
  get failedReason(): string | undefined {
    return this.mq.failedReason;
  }
  get queue(): BullJobHost {
    return this.host;
  }

  /** `progress()` reads it; `progress(value)` stores it and emits `progress` / `global:progress`. */
  progress(): JobProgress;
  progress(value: JobProgress): Promise<void>;
  progress(value?: JobProgress): JobProgress | Promise<void> {
    if (value === undefined) return this.mq.progress;
    return this.mq.updateProgress(value);
  }

  async log(row: string): Promise<number> {
    return this.mq.log(row);
  }

  async getState(): Promise<BullJobStatus> {
    const s = await this.mq.getState();
    if (s === 'unknown') return 'stuck';
    if (s === 'prioritized' || s === 'waiting') return (await this.host.isPaused()) ? 'paused' : 'waiting';
    if (s === 'waiting-children') return 'waiting';
    return s as BullJobStatus;
  }

  async isCompleted(): Promise<boolean> {
    return (await this.getState()) === 'completed';
  }
  async isFailed(): Promise<boolean> {
    return (await this.getState()) === 'failed';
  }
  async isDelayed(): Promise<boolean> {
    return (await this.getState()) === 'delayed';
  }
  async isActive(): Promise<boolean> {
    return (await this.getState()) === 'active';
  }
  async isWaiting(): Promise<boolean> {
    return (await this.getState()) === 'waiting';
  }
  async isPaused(): Promise<boolean> {
    return (await this.getState()) === 'paused';
  }
  async isStuck(): Promise<boolean> {
    return (await this.getState()) === 'stuck';
  }

  async update(data: T): Promise<void> {
    await this.mq.updateData(data);
  }

  async remove(): Promise<void> {
    await this.mq.remove();
    this.host.emitRemoved(this);
  }

  /** Moves a failed job back to wait, as Bull's `retry()` does. */
  async retry(): Promise<void> {
    await this.mq.retry('failed');
  }

  /** Set by {@link discard}: a failure of this attempt is final, whatever attempts remain. */
  discarded = false;

  /** No further retries for this job, whatever its attempts say (call it from the handler). */
  discard(): void {
    this.discarded = true;
  }

  /** Resolves with the return value once completed; rejects with the failure reason if it fails. */
  finished(): Promise<unknown> {
    return this.host.finished(this.mq);
  }

  async promote(): Promise<void> {
    await this.mq.promote();
  }

  /** Extends this queue's lock by `duration` ms: 1, or 0 when this queue does not hold it (Bull). */
  async extendLock(duration: number): Promise<number> {
    return this.mq.extendLock(this.lockToken, duration);
  }

  // ------------------------------------------------------------ manual processing (getNextJob)

  /** The token that locks this job: the worker's that took it, else the queue instance's. */
  private get lockToken(): string {
    return this.mq.token ?? this.host.token;
  }

  /**
   * Completes the job (it must be active and, unless `ignoreLock`, locked by this queue) and,
   * unless `notFetch`, moves the next waiting job to active under the same lock, returning
   * `[jobData, jobId]` for it (BullMQ's job JSON), or 0 when none was (Bull's own value; its
   * typings say null).
   */
  async moveToCompleted(returnValue?: unknown, ignoreLock = false, notFetch = false): Promise<[JobJson, string] | 0> {
    const next = await this.mq.moveToCompleted(returnValue === undefined ? null : returnValue, ignoreLock ? '0' : this.lockToken, !notFetch);
    return nextOf(next);
  }

  /**
   * Fails this attempt: retried (with its backoff) while attempts remain and the job was not
   * discarded, failed for good otherwise. No next job is fetched, as in Bull.
   */
  async moveToFailed(errorInfo: { message: string }, ignoreLock = false): Promise<void> {
    const message = errorInfo?.message ?? 'Unknown reason';
    const err = this.discarded ? new UnrecoverableError(message) : errorInfo instanceof Error ? errorInfo : new Error(message);
    await this.mq.moveToFailed(err, ignoreLock ? '0' : this.lockToken, false);
  }

  /** Locks the job for this queue unless a live lock holds it: 1 when taken, false otherwise. */
  async takeLock(): Promise<number | false> {
    return (await this.host.backend.takeLock(this.id, this.lockToken, this.host.lockDuration)) ? 1 : false;
  }

  /** Releases this queue's lock; throws when this queue does not hold it, as Bull does. */
  async releaseLock(): Promise<void> {
    if (!(await this.host.backend.releaseLock(this.id, this.lockToken))) throw new Error(`Could not release lock for job ${this.id}`);
  }

  /** Names the lock (Bull: its Redis key); informational here, the lock lives on the job row. */
  lockKey(): string {
    return `${this.host.name}:${this.id}:lock`;
  }

  toJSON(): {
    id: string;
    name: string;
    data: T;
    opts: BullJobOptions;
    progress: JobProgress;
    delay: number;
    timestamp: number;
    attemptsMade: number;
    failedReason: string | undefined;
    stacktrace: string[] | null;
    returnvalue: unknown;
    finishedOn: number | null;
    processedOn: number | null;
  } {
    return {
      id: this.id,
      name: this.name,
      data: this.data,
      opts: this.opts,
      progress: this.mq.progress,
      delay: this.delay,
      timestamp: this.timestamp,
      attemptsMade: this.attemptsMade,
      failedReason: this.failedReason,
      stacktrace: this.stacktrace ?? null,
      returnvalue: this.returnvalue ?? null,
      finishedOn: this.finishedOn ?? null,
      processedOn: this.processedOn ?? null,
    };
  }
}

/** BullMQ's fetch-next result (`[jobJson, id, ...]`) as Bull's `[jobData, jobId]`, or 0. */
function nextOf(next: void | unknown[]): [JobJson, string] | 0 {
  if (!Array.isArray(next) || !next[0]) return 0;
  return [next[0] as JobJson, String(next[1])];
}
