/** The public types of `railyard/cron`, shaped like node-cron 4.6's so code type-checks unchanged. */

export interface CronLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string | Error, err?: Error): void;
  debug(message: string | Error, err?: Error): void;
}

/** Decides which process runs a slot of a `distributed` task; `key` is `<name>:<slot ISO time>`. */
export interface RunCoordinator {
  shouldRun(key: string, ttlMs: number): boolean | Promise<boolean>;
  onComplete?(key: string): void | Promise<void>;
}

export type SkipReason = 'not-elected' | 'coordinator-error';

export type TaskEvent =
  | 'task:started'
  | 'task:stopped'
  | 'task:destroyed'
  | 'task:failed'
  | 'execution:started'
  | 'execution:finished'
  | 'execution:failed'
  | 'execution:missed'
  | 'execution:overlap'
  | 'execution:maxReached'
  | 'execution:skipped';

export type TaskStatus = 'stopped' | 'idle' | 'running' | 'destroyed';

export interface Execution {
  id: string;
  reason: 'invoked' | 'scheduled';
  startedAt?: Date;
  finishedAt?: Date;
  error?: Error;
  result?: unknown;
}

export interface LastRun {
  date: Date;
  result?: unknown;
  error?: Error;
}

export interface TaskContext {
  /** The slot this execution belongs to (not the time it started). */
  date: Date;
  /** The slot in the task's time zone, with its offset. */
  dateLocalIso: string;
  task?: ScheduledTask;
  execution?: Execution;
  triggeredAt: Date;
  reason?: SkipReason;
  error?: Error;
}

export type TaskFn = (context: TaskContext) => unknown;
export type TaskListener = (context: TaskContext) => Promise<void> | void;

export interface TaskOptions {
  timezone?: string;
  name?: string;
  noOverlap?: boolean;
  distributed?: boolean;
  runCoordinator?: RunCoordinator;
  /** Lease the coordinator holds for a slot, ms (default 30 000). */
  distributedLease?: number;
  maxExecutions?: number;
  maxRandomDelay?: number;
  logger?: CronLogger;
  suppressMissedWarning?: boolean;
  /** How late a slot may start and still run, ms (default 1000); later slots are reported missed. */
  missedExecutionTolerance?: number;
  /** Background tasks: how long `execute()` waits, ms. */
  executeTimeout?: number;
  /** Background tasks: how long the child process may take to load the task file, ms (default 5000). */
  startTimeout?: number;
  unref?: boolean;
}

export interface ScheduledTask {
  id: string;
  name?: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  getStatus(): string;
  destroy(): void | Promise<void>;
  execute(): Promise<unknown>;
  getNextRun(): Date | null;
  getNextRuns(count: number): Date[];
  match(date: Date): boolean;
  msToNext(): number | null;
  isBusy(): boolean;
  runsLeft(): number | undefined;
  getPattern(): string;
  lastRun(): LastRun | null;
  unref(): void;
  ref(): void;
  on(event: TaskEvent, fun: TaskListener): void;
  off(event: TaskEvent, fun: TaskListener): void;
  once(event: TaskEvent, fun: TaskListener): void;
}
