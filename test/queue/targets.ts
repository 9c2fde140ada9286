import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, QueueEvents, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';

/**
 * Where a compatibility scenario runs: BullMQ on Railyard's SQLite backend, or (when
 * RAILYARD_REDIS_URL is set) stock BullMQ on Redis. Scenarios only use BullMQ's public API
 * through these constructors, so the same assertions judge both.
 */
export interface Target {
  readonly name: string;
  queue(name: string, opts?: Partial<QueueOptions>): Queue;
  worker(name: string, fn: Processor, opts?: Partial<WorkerOptions>): Worker;
  events(name: string): Promise<QueueEvents>;
  flow(): FlowProducer;
  /** A queue name no other test uses. */
  fresh(): string;
  cleanup(): Promise<void>;
}

type Closable = { close(): Promise<void> };

function base(name: string, make: {
  queue: (n: string, o: Partial<QueueOptions>) => Queue;
  worker: (n: string, fn: Processor, o: Partial<WorkerOptions>) => Worker;
  events: (n: string) => QueueEvents;
  flow: () => FlowProducer;
  after?: () => void;
}): Target {
  const open: Closable[] = [];
  const queues: Queue[] = [];
  return {
    name,
    queue(n, o = {}) {
      const q = make.queue(n, o);
      open.push(q);
      queues.push(q);
      return q;
    },
    worker(n, fn, o = {}) {
      const w = make.worker(n, fn, o);
      open.unshift(w);
      return w;
    },
    async events(n) {
      const e = make.events(n);
      open.unshift(e);
      await e.waitUntilReady();
      // On Redis the first XREAD ('$') is issued a moment after ready; events before it are
      // lost there. Give it that moment so scenarios judge both targets on the same events.
      await sleep(50);
      return e;
    },
    flow() {
      const f = make.flow();
      open.unshift(f);
      return f;
    },
    fresh: () => `t${randomUUID().slice(0, 8)}`,
    async cleanup() {
      for (const c of open.splice(0)) await c.close().catch(() => undefined);
      make.after?.();
    },
  };
}

export function railyardTarget(): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'railyard-jobs-'));
  const connection = { dataDir };
  return base('railyard', {
    queue: (n, o) => new Queue(n, { ...o, connection }, createRailyardBackend),
    worker: (n, fn, o) => new Worker(n, fn, { ...o, connection }, createRailyardBackend),
    events: (n) => new QueueEvents(n, { connection }, createRailyardBackend),
    flow: () => new FlowProducer({ connection }, createRailyardBackend),
    after: () => rmSync(dataDir, { recursive: true, force: true }),
  });
}

export function redisTarget(url: string): Target {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  return base('redis', {
    queue: (n, o) => new Queue(n, { ...o, connection }),
    worker: (n, fn, o) => new Worker(n, fn, { ...o, connection }),
    events: (n) => new QueueEvents(n, { connection }),
    flow: () => new FlowProducer({ connection }),
  });
}

/** The targets this run can reach; Redis only when RAILYARD_REDIS_URL is set. */
export function targets(): { name: string; make: () => Target }[] {
  const list = [{ name: 'railyard', make: railyardTarget }];
  const url = process.env['RAILYARD_REDIS_URL'];
  if (url) list.push({ name: 'redis', make: () => redisTarget(url) });
  return list;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `pred` holds, polling every 10 ms; fails after `ms`. */
export async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
