import type { Job as MqJob, JobProgress } from 'bullmq';
import type { BullJobOptions } from './options.js';
import { UnsupportedOperationError } from '../errors.js';

export type BullJobStatus = 'completed' | 'waiting' | 'active' | 'delayed' | 'failed' | 'paused' | 'stuck';

/** What a Bull job needs from its queue facade. */
export interface BullJobHost {
  readonly name: string;
  isPaused(): Promise<boolean>;
  finished(job: MqJob): Promise<unknown>;
  emitRemoved(job: BullJob): void;
}

/**
 * Bull 4's `Job` over a BullMQ job: the same fields (read live from the BullMQ job) and methods,
 * with `progress()` as Bull's getter/setter pair.
 */
export class BullJob<T = unknown> {
  constructor(
    readonly mq: MqJob,
    private readonly host: BullJobHost,
  ) {}

  get id(): string {
    return this.mq.id!;
  }
  get name(): string {
    return this.mq.name;
  }
  get data(): T {
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

  async extendLock(duration: number): Promise<number> {
    if (!this.mq.token) throw new UnsupportedOperationError('Job.extendLock', 'only a job being processed by this queue holds a lock');
    return this.mq.extendLock(this.mq.token, duration);
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
