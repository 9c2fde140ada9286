/**
 * Child-process side of a background cron task: loads the task module, runs it on its own schedule
 * with an InlineTask, and reports every event to the parent over IPC. The parent owns the run
 * coordinator, so `distributed` elections are asked for over IPC too.
 */
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { InlineTask } from './inline-task.js';
import type { CronLogger, RunCoordinator, TaskContext, TaskEvent, TaskFn, TaskOptions } from './cron-types.js';
import type { ChildMessage, ParentMessage, WireContext, WireError } from './background-protocol.js';

const EVENTS: TaskEvent[] = [
  'task:started', 'task:stopped', 'task:destroyed', 'execution:started', 'execution:finished', 'execution:failed',
  'execution:missed', 'execution:overlap', 'execution:maxReached', 'execution:skipped',
];

const quiet: CronLogger = { info() {}, warn() {}, error() {}, debug() {} };

function send(message: ChildMessage): void {
  process.send?.(message);
}

function serializeError(err: Error): WireError {
  return { name: err.name, message: err.message, stack: err.stack };
}

function toWire(ctx: TaskContext): WireContext {
  const ex = ctx.execution;
  const wire: WireContext = { date: ctx.date.getTime(), reason: ctx.reason };
  if (ex) {
    wire.execution = {
      id: ex.id,
      reason: ex.reason,
      startedAt: ex.startedAt?.getTime(),
      finishedAt: ex.finishedAt?.getTime(),
      result: ex.result,
    };
    if (ex.error) wire.error = serializeError(ex.error);
  }
  return wire;
}

class IpcCoordinator implements RunCoordinator {
  private readonly pending = new Map<string, (r: { allowed: boolean; error?: string }) => void>();
  constructor() {
    // The parent went away (crashed or was killed): a background task must not outlive its scheduler.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: ParentMessage) => {
      if (m.type !== 'coordinator:result') return;
      this.pending.get(m.reqId)?.(m);
      this.pending.delete(m.reqId);
    });
  }
  shouldRun(key: string, ttlMs: number): Promise<boolean> {
    const reqId = randomUUID();
    return new Promise((resolve, reject) => {
      this.pending.set(reqId, (r) => (r.error ? reject(new Error(r.error)) : resolve(r.allowed)));
      send({ type: 'coordinator:shouldRun', key, ttlMs, reqId });
    });
  }
  onComplete(key: string): void {
    send({ type: 'coordinator:complete', key });
  }
}

let task: InlineTask | undefined;
const executions = new Set<string>();

async function start(path: string, expression: string, options: TaskOptions): Promise<void> {
  const mod = (await import(path.startsWith('file:') ? path : pathToFileURL(path).href)) as { task?: unknown; default?: { task?: unknown } };
  const fn = (mod.task ?? mod.default?.task) as TaskFn | undefined;
  if (typeof fn !== 'function') throw new Error(`${path} does not export a function named "task"`);
  const opts: TaskOptions = { ...options, logger: quiet };
  if (opts.distributed) opts.runCoordinator = new IpcCoordinator();
  task = new InlineTask(expression, fn, opts);
  for (const event of EVENTS) {
    task.on(event, (ctx) => {
      const id = ctx.execution?.id;
      // Manual executions are answered through `executed`; their events are forwarded too.
      if (id && executions.has(id) && (event === 'execution:finished' || event === 'execution:failed')) executions.delete(id);
      send({ type: 'event', event, context: toWire(ctx), status: task!.getStatus() });
    });
  }
  task.start();
}

// The parent went away (crashed or was killed): a background task must not outlive its scheduler.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: ParentMessage) => {
  switch (m.type) {
    case 'start':
      start(m.path, m.expression, m.options).catch((err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        send({ type: 'start:error', error: serializeError(e) });
      });
      break;
    case 'stop':
      task?.stop();
      break;
    case 'destroy':
      task?.destroy();
      break;
    case 'execute':
      if (!task) break;
      task.execute().then(
        (result) => send({ type: 'executed', reqId: m.reqId, result }),
        (err: unknown) => send({ type: 'executed', reqId: m.reqId, error: serializeError(err instanceof Error ? err : new Error(String(err))) }),
      );
      break;
    default:
      break;
  }
});
