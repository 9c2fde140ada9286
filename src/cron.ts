/**
 * `railyard/cron`: node-cron 4.6's API on Railyard's cron engine (one timer heap for all tasks,
 * forward-searching next-run computation, IANA zones). Switching is one import:
 * `import cron from 'railyard/cron'` instead of `import cron from 'node-cron'`.
 */
import { validateExpression, type DetailedValidation, type ParsedFields } from './scheduler/expression.js';
import { CronSchedule } from './scheduler/schedule.js';
import { InlineTask } from './scheduler/inline-task.js';
import { BackgroundTask, resolveTaskPath } from './scheduler/background-task.js';
import { allTasks, findTask, registerTask, unregisterTask } from './scheduler/registry.js';
import { setLogger, setRunCoordinator, sharedLogger } from './scheduler/cron-runtime.js';
import { InvalidArgumentError } from './errors.js';
import { sharedTimerHeap } from './scheduler/timer-heap.js';
import type { ScheduledTask, TaskFn, TaskOptions } from './scheduler/cron-types.js';

export type {
  CronLogger as Logger,
  Execution,
  LastRun,
  RunCoordinator,
  ScheduledTask,
  SkipReason,
  TaskContext,
  TaskEvent,
  TaskFn,
  TaskOptions,
} from './scheduler/cron-types.js';
export type { CronFieldError, DetailedValidation, ParsedFields } from './scheduler/expression.js';
export { SqliteRunCoordinator, type SqliteRunCoordinatorOptions } from './scheduler/sqlite-coordinator.js';
export { setLogger, setRunCoordinator };

sharedTimerHeap().onClockJump(({ skewMs }) => {
  sharedLogger.warn(`system clock jumped ${skewMs > 0 ? 'forward' : 'back'} by ${Math.abs(Math.round(skewMs))} ms; schedules follow the new time`);
});

/** Creates a stopped task; `func` is a function, or a path to a module run in a child process. */
export function createTask(expression: string, func: TaskFn | string, options?: TaskOptions): ScheduledTask {
  let task: ScheduledTask;
  if (typeof func === 'function') {
    task = new InlineTask(expression, func, options);
  } else if (typeof func === 'string') {
    new CronSchedule(expression, { timezone: options?.timezone });
    task = new BackgroundTask(expression, resolveTaskPath(func), options);
  } else {
    throw new InvalidArgumentError('func', typeof func, 'a function or a path to a task module');
  }
  registerTask(task);
  return task;
}

/** Creates and starts a task. */
export function schedule(expression: string, func: TaskFn | string, options?: TaskOptions): ScheduledTask {
  const task = createTask(expression, func, options);
  let started: void | Promise<void>;
  try {
    started = task.start();
  } catch (err) {
    unregisterTask(task);
    throw err;
  }
  if (started instanceof Promise) {
    started.catch((err: unknown) => {
      (options?.logger ?? sharedLogger).error(`Failed to start scheduled task: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
  return task;
}

export function validate(expression: string): boolean {
  return validateExpression(expression).valid;
}

export function validateDetailed(pattern: string): DetailedValidation {
  return validateExpression(pattern);
}

/** The expanded fields of an expression; throws InvalidArgumentError naming the field and value. */
export function parse(pattern: string): ParsedFields {
  return new CronSchedule(pattern, { timezone: 'UTC' }).fields;
}

export function getTasks(): Map<string, ScheduledTask> {
  return allTasks();
}

export function getTask(taskId: string): ScheduledTask | undefined {
  return findTask(taskId);
}

/** Stops every task, waits (up to `timeout` ms) for running executions, then destroys them all. */
export async function shutdown(timeout = 5000): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const task of allTasks().values()) {
    const busy = task.isBusy();
    const settled = new Promise<void>((resolve) => {
      const done = (): void => {
        task.off('execution:finished', done);
        task.off('execution:failed', done);
        resolve();
      };
      task.once('execution:finished', done);
      task.once('execution:failed', done);
    });
    Promise.resolve(task.stop()).catch((err: unknown) => sharedLogger.error(`Error stopping task "${task.name}" during shutdown: ${String(err)}`));
    if (busy) pending.push(settled);
  }
  if (pending.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => { timer = setTimeout(r, timeout); })]);
    clearTimeout(timer);
  }
  for (const task of [...allTasks().values()]) {
    Promise.resolve(task.destroy()).catch((err: unknown) => sharedLogger.error(`Error destroying task "${task.name}" during shutdown: ${String(err)}`));
  }
}

const cron = {
  schedule,
  createTask,
  validate,
  validateDetailed,
  parse,
  getTasks,
  getTask,
  setLogger,
  setRunCoordinator,
  shutdown,
};

export type NodeCron = typeof cron;
export { cron as nodeCron };
export default cron;
