/**
 * A task whose function runs in this process, with node-cron 4.6's lifecycle, events and options,
 * driven by the shared timer heap.
 *
 * Each slot is computed from the expression (the next match after the slot just handled), so a late
 * wake-up never shifts later runs. A wake-up later than `missedExecutionTolerance` (or later than the
 * gap to the following slot) reports the slot as missed instead of running it.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { CronSchedule } from './schedule.js';
import { sharedTimerHeap, type TimerEntry } from './timer-heap.js';
import { resolveRunCoordinator, sharedLogger } from './cron-runtime.js';
import { forgetTask } from './registry.js';
import { TaskBase } from './task-base.js';
import type {
  CronLogger,
  Execution,
  LastRun,
  RunCoordinator,
  ScheduledTask,
  SkipReason,
  TaskContext,
  TaskEvent,
  TaskFn,
  TaskListener,
  TaskOptions,
} from './cron-types.js';

const DEFAULT_TOLERANCE_MS = 1000;
const DEFAULT_LEASE_MS = 30_000;
/** Beyond this many missed slots in one wake-up, the rest are skipped without an event each. */
const MAX_MISSED_REPORTED = 1000;

const floorSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

function checkNonNegative(name: string, v: number | undefined): void {
  if (v !== undefined && (typeof v !== 'number' || !(v >= 0))) throw new InvalidArgumentError(`options.${name}`, v, 'a number >= 0');
}

export function validateTaskOptions(options: TaskOptions | undefined): void {
  if (!options) return;
  checkNonNegative('maxExecutions', options.maxExecutions);
  checkNonNegative('maxRandomDelay', options.maxRandomDelay);
  checkNonNegative('missedExecutionTolerance', options.missedExecutionTolerance);
  checkNonNegative('distributedLease', options.distributedLease);
  if (options.distributed && !options.name) {
    throw new InvalidArgumentError('options.name', options.name, '`distributed` requires a `name`: it forms the coordination key shared across instances');
  }
}

/** Event plumbing shared by inline and background tasks: listeners never break the task. */
export class TaskEvents {
  private readonly emitter = new EventEmitter();
  constructor(private readonly logger: CronLogger) {
    this.emitter.setMaxListeners(0);
  }
  on(event: TaskEvent, fn: TaskListener): void { this.emitter.on(event, fn); }
  off(event: TaskEvent, fn: TaskListener): void { this.emitter.off(event, fn); }
  once(event: TaskEvent, fn: TaskListener): void { this.emitter.once(event, fn); }
  count(event: TaskEvent): number { return this.emitter.listenerCount(event); }
  emit(event: TaskEvent, context: TaskContext): void {
    // rawListeners keeps `once` wrappers, which remove themselves and pass the listener's result on.
    for (const listener of this.emitter.rawListeners(event) as TaskListener[]) {
      try {
        Promise.resolve(listener(context)).catch((err: unknown) => this.logger.error(toError(err)));
      } catch (err) {
        this.logger.error(toError(err));
      }
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class InlineTask extends TaskBase implements ScheduledTask {
  readonly id: string;
  readonly name: string;
  /** Created on first subscription: most tasks never have listeners. */
  private eventsOrNull: TaskEvents | null = null;
  private readonly logger: CronLogger;
  private readonly coordinator: RunCoordinator | undefined;
  private readonly tolerance: number;
  private started = false;
  private refed: boolean;
  private nextSlot: number | null = null;
  private readonly entry: TimerEntry;
  /** A pending maxRandomDelay wait and how to cancel it. */
  private jitter: { entry: TimerEntry; cancel: () => void } | undefined;
  private inFlight = false;

  private get events(): TaskEvents {
    this.eventsOrNull ??= new TaskEvents(this.logger);
    return this.eventsOrNull;
  }

  constructor(expression: string, private readonly fn: TaskFn, options: TaskOptions = {}) {
    validateTaskOptions(options);
    super(new CronSchedule(expression, { timezone: options.timezone }), options);
    this.id = randomUUID();
    this.name = options.name || this.id;
    this.logger = options.logger ?? sharedLogger;
    this.tolerance = options.missedExecutionTolerance ?? DEFAULT_TOLERANCE_MS;
    this.coordinator = options.distributed ? resolveRunCoordinator(options.runCoordinator) : undefined;
    this.refed = !options.unref;
    this.entry = sharedTimerHeap().createEntry((now) => this.onDue(now), this.refed);
  }

  start(): void {
    if (this.status === 'destroyed' || this.started) return;
    this.started = true;
    this.nextSlot = this.schedule.nextAfter(Date.now());
    this.arm();
    this.status = 'idle';
    this.emit('task:started', Date.now());
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    sharedTimerHeap().remove(this.entry);
    // A run still waiting out its random delay is dropped, not left pending forever.
    this.jitter?.cancel();
    this.status = 'stopped';
    this.emit('task:stopped', Date.now());
  }

  destroy(): void {
    if (this.status === 'destroyed') return;
    this.stop();
    this.status = 'destroyed';
    forgetTask(this.id);
    this.emit('task:destroyed', Date.now());
  }

  ref(): void {
    this.setRef(true);
  }

  unref(): void {
    this.setRef(false);
  }

  on(event: TaskEvent, fun: TaskListener): void { this.events.on(event, fun); }
  off(event: TaskEvent, fun: TaskListener): void { this.events.off(event, fun); }
  once(event: TaskEvent, fun: TaskListener): void { this.events.once(event, fun); }

  /** Runs the function now, outside the schedule; resolves with its result or rejects with its error. */
  async execute(): Promise<unknown> {
    const slot = Date.now();
    const execution: Execution = { id: randomUUID(), reason: 'invoked' };
    this.emit('execution:started', slot, execution);
    const ok = await this.invoke(slot, execution);
    if (!ok) throw execution.error as Error;
    this.finish(slot, execution);
    return execution.result;
  }

  private setRef(refed: boolean): void {
    this.refed = refed;
    sharedTimerHeap().setRef(this.entry, refed);
    if (this.jitter) sharedTimerHeap().setRef(this.jitter.entry, refed);
  }

  private arm(): void {
    if (this.started && this.nextSlot !== null) sharedTimerHeap().schedule(this.entry, this.nextSlot);
  }

  private onDue(now: number): void {
    if (!this.started || this.nextSlot === null) return;
    const nowS = floorSecond(now);
    let slot: number | null = this.nextSlot;
    let run: number | null = null;
    const missed: number[] = [];
    let skippedAhead = false;
    while (slot !== null && nowS >= slot) {
      if (missed.length === MAX_MISSED_REPORTED && !skippedAhead) {
        skippedAhead = true;
        // A huge backlog (the clock jumped days ahead): report this many, skip the rest silently.
        this.logger.warn(`more than ${MAX_MISSED_REPORTED} missed executions; skipping ahead to the current time`);
        slot = this.schedule.nextAfter(nowS - 1000);
        if (slot === null || nowS < slot) break;
      }
      const following: number | null = this.schedule.nextAfter(slot);
      const late = nowS - slot;
      if (late <= this.tolerance && (following === null || late < following - slot)) {
        run = slot;
        slot = following;
        break;
      }
      missed.push(slot);
      slot = following;
    }
    this.nextSlot = slot;
    for (const m of missed) this.reportMissed(m);
    if (run !== null) this.runScheduled(run);
    this.arm();
  }

  private reportMissed(slot: number): void {
    if (!this.options.suppressMissedWarning && (this.eventsOrNull?.count('execution:missed') ?? 0) === 0) {
      this.logger.warn(`missed execution at ${new Date(slot)}! Possible blocking IO or high CPU use in the process running the scheduler.`);
    }
    this.emit('execution:missed', slot);
  }

  private runScheduled(slot: number): void {
    if (this.inFlight) {
      this.emit('execution:overlap', slot);
      if (this.options.noOverlap) {
        this.logger.warn('task still running, new execution blocked by overlap prevention!');
        return;
      }
    }
    if (!this.coordinator) {
      this.track(this.runSlot(slot));
      return;
    }
    this.track(this.coordinated(slot, this.coordinator));
  }

  /** Marks the task in flight while an asynchronous run lasts; synchronous runs never overlap. */
  private track(run: Promise<void> | undefined): void {
    if (!run) return;
    this.inFlight = true;
    void run.finally(() => {
      this.inFlight = false;
    });
  }

  private async coordinated(slot: number, coordinator: RunCoordinator): Promise<void> {
    const key = `${this.name}:${new Date(slot).toISOString()}`;
    let allowed: boolean;
    try {
      allowed = await coordinator.shouldRun(key, this.options.distributedLease ?? DEFAULT_LEASE_MS);
    } catch (err) {
      // Fail closed: running a distributed slot twice is worse than skipping it.
      this.logger.error('Run coordinator failed; skipping execution (fail-closed)', toError(err));
      this.emit('execution:skipped', slot, undefined, 'coordinator-error');
      return;
    }
    if (!allowed) {
      this.emit('execution:skipped', slot, undefined, 'not-elected');
      return;
    }
    try {
      await this.runSlot(slot);
    } finally {
      try {
        await coordinator.onComplete?.(key);
      } catch (err) {
        this.logger.error('Run coordinator onComplete failed', toError(err));
      }
    }
  }

  /**
   * Runs one slot. Synchronous task functions complete synchronously (no promise per run: with
   * hundreds of tasks due in the same millisecond that overhead is what makes the last one late);
   * a random delay or a thenable result makes the run asynchronous and returns its promise.
   */
  private runSlot(slot: number): Promise<void> | undefined {
    const execution: Execution = { id: randomUUID(), reason: 'scheduled' };
    if (this.started) this.status = 'running';
    this.emit('execution:started', slot, execution);
    const delay = Math.floor(Math.random() * (this.options.maxRandomDelay ?? 0));
    if (delay > 0) return this.sleep(delay).then((elapsed) => (elapsed ? this.callScheduled(slot, execution) : undefined));
    return this.callScheduled(slot, execution);
  }

  private callScheduled(slot: number, execution: Execution): Promise<void> | undefined {
    this.runCount++;
    const outcome = this.invoke(slot, execution);
    if (typeof outcome === 'boolean') {
      this.settleScheduled(slot, execution, outcome);
      return undefined;
    }
    return outcome.then((ok) => this.settleScheduled(slot, execution, ok));
  }

  private settleScheduled(slot: number, execution: Execution, ok: boolean): void {
    if (!ok) return;
    this.finish(slot, execution);
    const max = this.options.maxExecutions;
    if (max && this.runCount >= max) {
      this.emit('execution:maxReached', slot);
      this.destroy();
    }
  }

  /** Resolves true after `ms`, or false if the task is stopped first. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const heap = sharedTimerHeap();
      const done = (elapsed: boolean): void => {
        if (this.jitter?.entry === entry) this.jitter = undefined;
        heap.remove(entry);
        resolve(elapsed);
      };
      const entry = heap.createEntry(() => done(true), this.refed);
      this.jitter = { entry, cancel: () => done(false) };
      heap.schedule(entry, Date.now() + ms);
    });
  }

  /**
   * Calls the function; on failure reports it and yields false. A throwing task keeps its schedule.
   * Returns a boolean when the function returned synchronously, a promise when it returned a thenable.
   */
  private invoke(slot: number, execution: Execution): boolean | Promise<boolean> {
    execution.startedAt = new Date();
    let result: unknown;
    try {
      result = this.fn(this.context(slot, execution));
    } catch (err) {
      return this.failed(slot, execution, err);
    }
    if (!isThenable(result)) {
      execution.result = result;
      execution.finishedAt = new Date();
      return true;
    }
    return Promise.resolve(result).then(
      (value) => {
        execution.result = value;
        execution.finishedAt = new Date();
        return true;
      },
      (err: unknown) => this.failed(slot, execution, err),
    );
  }

  private failed(slot: number, execution: Execution, err: unknown): false {
    execution.finishedAt = new Date();
    execution.error = toError(err);
    this.logger.error(execution.error);
    this.record(execution);
    this.emit('execution:failed', slot, execution);
    if (this.started) this.status = 'idle';
    return false;
  }

  private finish(slot: number, execution: Execution): void {
    if (execution.reason === 'scheduled' && this.started) this.status = 'idle';
    this.record(execution);
    this.emit('execution:finished', slot, execution);
  }

  private record(execution: Execution): void {
    const run: LastRun = { date: execution.finishedAt ?? new Date() };
    if (execution.error) run.error = execution.error;
    else run.result = execution.result;
    this.last = run;
  }

  private context(slot: number, execution?: Execution, reason?: SkipReason): TaskContext {
    const ctx: TaskContext = {
      date: new Date(slot),
      dateLocalIso: this.schedule.zone.localIso(slot),
      triggeredAt: new Date(),
      task: this,
      execution,
    };
    if (reason) ctx.reason = reason;
    return ctx;
  }

  private emit(event: TaskEvent, slot: number, execution?: Execution, reason?: SkipReason): void {
    if (!this.eventsOrNull || this.eventsOrNull.count(event) === 0) return;
    this.eventsOrNull.emit(event, this.context(slot, execution, reason));
  }
}
