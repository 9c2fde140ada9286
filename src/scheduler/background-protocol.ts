/** IPC messages between a background cron task (parent) and its child process. */
import type { TaskEvent, TaskOptions, TaskStatus } from './cron-types.js';

export interface WireError {
  name: string;
  message: string;
  stack?: string | undefined;
}

export interface WireContext {
  date: number;
  reason?: 'not-elected' | 'coordinator-error' | undefined;
  execution?: {
    id: string;
    reason: 'invoked' | 'scheduled';
    startedAt?: number | undefined;
    finishedAt?: number | undefined;
    result?: unknown;
  };
  error?: WireError | undefined;
}

export type ParentMessage =
  | { type: 'start'; path: string; expression: string; options: TaskOptions }
  | { type: 'stop' }
  | { type: 'destroy' }
  | { type: 'execute'; reqId: string }
  | { type: 'coordinator:result'; reqId: string; allowed: boolean; error?: string };

export type ChildMessage =
  | { type: 'event'; event: TaskEvent; context: WireContext; status: TaskStatus }
  | { type: 'start:error'; error: WireError }
  | { type: 'executed'; reqId: string; result?: unknown; error?: WireError }
  | { type: 'coordinator:shouldRun'; key: string; ttlMs: number; reqId: string }
  | { type: 'coordinator:complete'; key: string };
