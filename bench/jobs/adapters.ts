import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';

/** A job-queue system the bench drives through BullMQ's API. */
export interface Adapter {
  readonly name: string;
  /** What a child process needs to reach the same store (`dataDir` or a Redis URL). */
  readonly address: string;
  queue(name: string, opts?: Partial<QueueOptions>): Queue;
  worker(name: string, fn: Processor, opts?: Partial<WorkerOptions>): Worker;
  events(name: string): QueueEvents;
  close(): Promise<void>;
}

type Closable = { close(): Promise<void> };

export function railyardAdapter(): Adapter {
  const dataDir = mkdtempSync(join(tmpdir(), 'railyard-bench-'));
  const connection = { dataDir };
  const open: Closable[] = [];
  const track = <T extends Closable>(c: T): T => (open.unshift(c), c);
  return {
    name: 'railyard (SQLite)',
    address: dataDir,
    queue: (n, o = {}) => track(new Queue(n, { ...o, connection }, createRailyardBackend)),
    worker: (n, fn, o = {}) => track(new Worker(n, fn, { ...o, connection }, createRailyardBackend)),
    events: (n) => track(new QueueEvents(n, { connection }, createRailyardBackend)),
    async close() {
      for (const c of open.splice(0)) await c.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function redisAdapter(url: string): Adapter {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  const open: Closable[] = [];
  const track = <T extends Closable>(c: T): T => (open.unshift(c), c);
  return {
    name: 'BullMQ on Redis',
    address: url,
    queue: (n, o = {}) => track(new Queue(n, { ...o, connection })),
    worker: (n, fn, o = {}) => track(new Worker(n, fn, { ...o, connection })),
    events: (n) => track(new QueueEvents(n, { connection })),
    async close() {
      for (const c of open.splice(0)) await c.close();
    },
  };
}
