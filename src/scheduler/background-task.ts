/**
 * A task given as a module path: the module's exported `task` function runs in a child process, so
 * CPU-heavy or crashing jobs cannot stall or kill the scheduling process. The parent mirrors status and
 * events, answers coordinator elections, and computes next runs itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { CronSchedule } from './schedule.js';
import { TaskEvents, toError, validateTaskOptions } from './inline-task.js';
import { resolveRunCoordinator, sharedLogger } from './cron-runtime.js';
import { forgetTask } from './registry.js';
import { TaskBase } from './task-base.js';
import type { ChildMessage, ParentMessage, WireContext, WireError } from './background-protocol.js';
import type {
  CronLogger, Execution, RunCoordinator, ScheduledTask, TaskContext, TaskEvent, TaskListener, TaskOptions, TaskStatus,
} from './cron-types.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Built code forks the compiled daemon; from sources (tests, tsx) the .ts daemon runs through tsx. */
function daemonEntry(): { path: string; execArgv: string[] } {
  const js = resolvePath(here, 'background-daemon.js');
  if (existsSync(js)) return { path: js, execArgv: [] };
  return { path: resolvePath(here, 'background-daemon.ts'), execArgv: ['--import', 'tsx'] };
}

/** The directory of the first stack frame outside railyard/cron: the module that called createTask/schedule. */
function callerDirectory(): string | undefined {
  const ownRoot = resolvePath(here, '..');
  for (const line of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = /(file:\/\/[^\s)]+?|\/[^\s):]+?):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    const inOwnCode = file.startsWith(here) || file === resolvePath(ownRoot, 'cron.ts') || file === resolvePath(ownRoot, 'cron.js');
    if (!inOwnCode && !file.includes('/node_modules/')) return dirname(file);
  }
  return undefined;
}

/**
 * Absolute paths and file URLs are used as given; relative paths resolve against the directory of the
 * calling module (as node-cron does), or the working directory when that cannot be told.
 */
export function resolveTaskPath(path: string): string {
  if (path.startsWith('file://')) return path;
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return pathToFileURL(resolvePath(callerDirectory() ?? process.cwd(), path)).href;
}

function toErrorFromWire(w: WireError): Error {
  const err = new Error(w.message);
  err.name = w.name;
  if (w.stack) err.stack = w.stack;
  return err;
}

export class BackgroundTask extends TaskBase implements ScheduledTask {
  readonly id = randomUUID();
  readonly name: string;
  private readonly events: TaskEvents;
  private readonly logger: CronLogger;
  private readonly coordinator: RunCoordinator | undefined;
  private child: ChildProcess | undefined;
  /** Executions the child reported started and not yet settled. */
  private executing = 0;
  private starting: Promise<void> | undefined;
  /** Set by stop()/destroy(): later reports from the child no longer change the status. */
  private halted = false;
  private readonly executions = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(expression: string, private readonly taskPath: string, options: TaskOptions = {}) {
    validateTaskOptions(options);
    super(new CronSchedule(expression, { timezone: options.timezone }), options);
    this.name = options.name || this.id;
    this.logger = options.logger ?? sharedLogger;
    this.events = new TaskEvents(this.logger);
    this.coordinator = options.distributed ? resolveRunCoordinator(options.runCoordinator) : undefined;
  }

  start(): Promise<void> {
    if (this.status === 'destroyed' || this.child) return this.starting ?? Promise.resolve();
    this.halted = false;
    this.starting = this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = daemonEntry();
      const child = fork(entry.path, [], { execArgv: entry.execArgv, serialization: 'advanced' });
      this.child = child;
      const timeout = setTimeout(() => fail(new Error(`background task did not start within ${this.options.startTimeout ?? 5000} ms`)), this.options.startTimeout ?? 5000);
      let started = false;
      const fail = (err: Error): void => {
        clearTimeout(timeout);
        this.kill();
        reject(err);
      };
      child.on('error', (err) => fail(err));
      child.on('exit', (code, signal) => {
        if (this.child !== child) return;
        this.child = undefined;
        if (!started) return fail(new Error(`background task process exited with ${code ?? signal}`));
        const err = new Error(`background task process exited unexpectedly (code ${code}, signal ${signal})`);
        this.logger.error(err);
        for (const p of this.executions.values()) p.reject(err);
        this.executions.clear();
        this.executing = 0;
        if (this.status !== 'destroyed') this.status = 'stopped';
        this.events.emit('task:failed', { ...this.context({ date: Date.now() }), error: err });
      });
      child.on('message', (m: ChildMessage) => {
        switch (m.type) {
          case 'start:error':
            fail(toErrorFromWire(m.error));
            break;
          case 'event':
            if (m.event === 'task:started' && !started) {
              started = true;
              clearTimeout(timeout);
              resolve();
            }
            this.onEvent(m.event, m.context, m.status);
            break;
          case 'executed': {
            const p = this.executions.get(m.reqId);
            this.executions.delete(m.reqId);
            if (m.error) p?.reject(toErrorFromWire(m.error));
            else p?.resolve(m.result);
            break;
          }
          case 'coordinator:shouldRun':
            void this.elect(m.key, m.ttlMs, m.reqId);
            break;
          case 'coordinator:complete':
            Promise.resolve(this.coordinator?.onComplete?.(m.key)).catch((err: unknown) => this.logger.error('Run coordinator onComplete failed', toError(err)));
            break;
        }
      });
      const { logger: _l, runCoordinator: _c, ...rest } = this.options;
      this.send({ type: 'start', path: this.taskPath, expression: this.schedule.expression, options: rest });
    });
  }

  private send(m: ParentMessage): void {
    this.child?.send(m);
  }

  private async elect(key: string, ttlMs: number, reqId: string): Promise<void> {
    try {
      const allowed = this.coordinator ? await this.coordinator.shouldRun(key, ttlMs) : false;
      this.send({ type: 'coordinator:result', reqId, allowed });
    } catch (err) {
      this.send({ type: 'coordinator:result', reqId, allowed: false, error: toError(err).message });
    }
  }

  private onEvent(event: TaskEvent, wire: WireContext, status: TaskStatus): void {
    if (!this.halted) this.status = status;
    const ctx = this.context(wire);
    const ex = ctx.execution;
    if (event === 'execution:started') {
      this.executing++;
      if (ex?.reason === 'scheduled') this.runCount++;
    }
    if (event === 'execution:finished' || event === 'execution:failed') this.executing = Math.max(0, this.executing - 1);
    if ((event === 'execution:finished' || event === 'execution:failed') && ex) {
      this.last = ex.error ? { date: ex.finishedAt ?? new Date(), error: ex.error } : { date: ex.finishedAt ?? new Date(), result: ex.result };
    }
    if (event === 'execution:failed' && ex?.error) this.logger.error(ex.error);
    if (event === 'execution:missed' && !this.options.suppressMissedWarning && this.events.count('execution:missed') === 0) {
      this.logger.warn(`missed execution at ${ctx.date}!`);
    }
    if (event === 'task:stopped' || event === 'task:destroyed') return;
    this.events.emit(event, ctx);
    if (event === 'execution:maxReached') void this.destroy();
  }

  private context(wire: WireContext): TaskContext {
    let execution: Execution | undefined;
    if (wire.execution) {
      const w = wire.execution;
      execution = { id: w.id, reason: w.reason, result: w.result };
      if (w.startedAt !== undefined) execution.startedAt = new Date(w.startedAt);
      if (w.finishedAt !== undefined) execution.finishedAt = new Date(w.finishedAt);
      if (wire.error) execution.error = toErrorFromWire(wire.error);
    }
    const ctx: TaskContext = {
      date: new Date(wire.date),
      dateLocalIso: this.schedule.zone.localIso(wire.date),
      triggeredAt: new Date(),
      task: this,
      execution,
    };
    if (wire.reason) ctx.reason = wire.reason;
    return ctx;
  }

  private kill(): void {
    const child = this.child;
    this.child = undefined;
    child?.kill();
  }

  /** Lets a running execution settle before the child goes away. */
  private async settleAndKill(): Promise<void> {
    while (this.executing > 0 && this.child) {
      await new Promise<void>((resolve) => {
        const done = (): void => { this.events.off('execution:finished', done); this.events.off('execution:failed', done); resolve(); };
        this.events.on('execution:finished', done);
        this.events.on('execution:failed', done);
      });
    }
    this.kill();
  }

  async stop(): Promise<void> {
    if (this.status === 'destroyed' || !this.child) return;
    this.send({ type: 'stop' });
    this.halted = true;
    this.status = 'stopped';
    this.events.emit('task:stopped', this.context({ date: Date.now() }));
    await this.settleAndKill();
  }

  async destroy(): Promise<void> {
    if (this.status === 'destroyed') return;
    await this.stop();
    this.status = 'destroyed';
    forgetTask(this.id);
    this.events.emit('task:destroyed', this.context({ date: Date.now() }));
  }

  execute(): Promise<unknown> {
    if (!this.child) return Promise.reject(new Error('Cannot execute a background task before start() has completed'));
    const reqId = randomUUID();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = { resolve: (v: unknown) => { clearTimeout(timer); resolve(v); }, reject: (e: Error) => { clearTimeout(timer); reject(e); } };
      this.executions.set(reqId, settle);
      if (typeof this.options.executeTimeout === 'number') {
        timer = setTimeout(() => {
          this.executions.delete(reqId);
          reject(new Error('Execution timeout exceeded'));
        }, this.options.executeTimeout);
      }
      this.send({ type: 'execute', reqId });
    });
  }

  ref(): void {
    this.child?.ref();
    (this.child?.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  unref(): void {
    this.child?.unref();
    (this.child?.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  on(event: TaskEvent, fun: TaskListener): void { this.events.on(event, fun); }
  off(event: TaskEvent, fun: TaskListener): void { this.events.off(event, fun); }
  once(event: TaskEvent, fun: TaskListener): void { this.events.once(event, fun); }
}
