import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  FlowProducer,
  Queue,
  QueueEvents,
  Worker,
  type ConnectionOptions,
  type IQueueBackend,
  type JobProgress,
  type Processor,
  type QueueOptions,
  type RedisQueueBackend,
  type WorkerOptions,
} from 'bullmq';
import { createRailyardBackend, type RailyardConnectionOptions, type RailyardQueueBackend } from '../../src/jobs.js';

/** BullMQ's classes on a target's backend; what jobs carry is each scenario's business. */
export type TargetQueue<B extends IQueueBackend, C> = Queue<unknown, unknown, string, unknown, unknown, string, B, C>;
export type TargetWorker<B extends IQueueBackend, C> = Worker<unknown, unknown, string, B, JobProgress, C>;

/**
 * Where a compatibility scenario runs: BullMQ on Railyard's SQLite backend, or (when
 * RAILYARD_REDIS_URL is set) stock BullMQ on Redis. Scenarios only use BullMQ's public API
 * through these constructors, so the same assertions judge both.
 */
export interface Target<B extends IQueueBackend, C> {
  readonly name: string;
  queue(name: string, opts?: Partial<QueueOptions>): TargetQueue<B, C>;
  /** `fn` is the processor, or the path of a processor file to run sandboxed. */
  worker(name: string, fn: Processor | string, opts?: Partial<WorkerOptions>): TargetWorker<B, C>;
  events(name: string): Promise<QueueEvents<unknown, B, C>>;
  flow(): FlowProducer<B, C>;
  /** A queue name no other test uses. */
  fresh(): string;
  cleanup(): Promise<void>;
}

/**
 * Scenarios written once for either target. BullMQ's classes are invariant in the connection
 * type (kept in `opts`, taken by the backend factory), so no one instantiation covers both
 * targets, and a union would not do either: `job.waitUntilFinished(qe)` infers the backend from
 * `qe`. Scenarios are generic instead, and each target hands them its own `make`.
 */
export type Scenarios = <B extends IQueueBackend, C>(make: () => Target<B, C>) => void;

type Closable = { close(): Promise<void> };

function base<B extends IQueueBackend, C>(name: string, make: {
  queue: (n: string, o: Partial<QueueOptions>) => TargetQueue<B, C>;
  worker: (n: string, fn: Processor | string, o: Partial<WorkerOptions>) => TargetWorker<B, C>;
  events: (n: string) => QueueEvents<unknown, B, C>;
  flow: () => FlowProducer<B, C>;
  after?: () => void;
}): Target<B, C> {
  const open: Closable[] = [];
  return {
    name,
    queue(n, o = {}) {
      const q = make.queue(n, o);
      open.push(q);
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

export function railyardTarget(): Target<RailyardQueueBackend, RailyardConnectionOptions> {
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

export function redisTarget(url: string): Target<RedisQueueBackend, ConnectionOptions> {
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
export function targets(): { name: string; run: (scenarios: Scenarios) => void }[] {
  const list: { name: string; run: (scenarios: Scenarios) => void }[] = [{ name: 'railyard', run: (scenarios) => scenarios(railyardTarget) }];
  const url = process.env['RAILYARD_REDIS_URL'];
  if (url) list.push({ name: 'redis', run: (scenarios) => scenarios(() => redisTarget(url)) });
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
