/** Every task created in this process, by id, as node-cron's `getTasks()` exposes them. */
import type { ScheduledTask } from './cron-types.js';

const tasks = new Map<string, ScheduledTask>();

export function registerTask(task: ScheduledTask): void {
  if (tasks.has(task.id)) throw new Error(`task ${task.id} already registered`);
  tasks.set(task.id, task);
}

/** Called by a task when it is destroyed (a direct call, not a listener: listeners cost memory per task). */
export function forgetTask(id: string): void {
  tasks.delete(id);
}

export function unregisterTask(task: ScheduledTask): void {
  if (tasks.delete(task.id)) void Promise.resolve(task.destroy()).catch(() => undefined);
}

export function allTasks(): Map<string, ScheduledTask> {
  return tasks;
}

export function findTask(id: string): ScheduledTask | undefined {
  return tasks.get(id);
}
