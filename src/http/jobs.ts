import type { JobJson } from 'bullmq';
import type { QueueOps } from '../queue/queue-ops.js';
import type { QueueReads } from '../queue/queue-reads.js';
import type { JobStore } from '../queue/store.js';
import { HttpError, badRequest, notFound } from './errors.js';
import { JobWaitSampler } from './job-wait.js';
import { PromText } from './prom-text.js';
import type { Router } from './router.js';
import { objectBody, oneOf, optionalBoolean, optionalInt, queryInt } from './validate.js';

/** BullMQ's job states, as its getJobCounts() names them. */
export const JOB_STATES = ['wait', 'active', 'prioritized', 'delayed', 'completed', 'failed', 'waiting-children'] as const;
type JobState = (typeof JOB_STATES)[number];

const MAX_PAGE = 1000;
/** BullMQ's default `streams.events.maxLen`, which the job store trims each queue's events to. */
const MAX_EVENTS = 10_000;
/** BullMQ's status codes for job operations (its `ErrorCode`). */
const JOB_NOT_EXIST = -1;
const CLEANABLE = ['completed', 'failed', 'delayed', 'wait', 'prioritized', 'active', 'waiting-children'] as const;

export interface JobsRoutes {
  /** `railyard_jobs{queue,state}` and `railyard_job_wait_seconds{queue}` for /metrics; empty when the job store cannot be loaded. */
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === null || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function jobView(j: JobJson, state: string): Record<string, unknown> {
  const stack = parseJson(j.stacktrace);
  return {
    id: j.id,
    name: j.name,
    state,
    data: parseJson(j.data),
    opts: typeof j.opts === 'string' ? parseJson(j.opts) : j.opts,
    progress: j.progress,
    attemptsMade: j.attemptsMade,
    attemptsStarted: j.attemptsStarted,
    timestamp: j.timestamp,
    processedOn: j.processedOn ?? null,
    finishedOn: j.finishedOn ?? null,
    delay: j.delay ?? 0,
    priority: j.priority ?? 0,
    failedReason: j.failedReason || null,
    stacktrace: Array.isArray(stack) ? stack : [],
    returnvalue: parseJson(j.returnvalue),
  };
}

/**
 * Read views of the BullMQ queues in the data dir (the broker's and other processes' jobs alike),
 * through the job store's own read API. The store is opened on first use and shared with any
 * BullMQ queue of this process on the same data dir.
 */
export function addJobRoutes(router: Router, dataDir: string): JobsRoutes {
  let store: JobStore | undefined;
  let Reads: typeof QueueReads | undefined;
  let Ops: typeof QueueOps | undefined;
  const opsByQueue = new Map<string, QueueOps>();
  const waits = new JobWaitSampler(Date.now());
  let closed = false;
  // Loaded on first use: the job store's modules need bullmq (an optional peer of the broker), and a
  // broker whose jobs nobody looks at should not pay for loading it.
  const load = async (): Promise<void> => {
    if (store && Reads && Ops) return;
    let storeModule: typeof import('../queue/store.js');
    let readsModule: typeof import('../queue/queue-reads.js');
    let opsModule: typeof import('../queue/queue-ops.js');
    try {
      [storeModule, readsModule, opsModule] = await Promise.all([import('../queue/store.js'), import('../queue/queue-reads.js'), import('../queue/queue-ops.js')]);
    } catch (err) {
      throw new HttpError(501, 'not_available', `job views need the bullmq package installed (${(err as Error).message})`);
    }
    if (closed) throw new HttpError(503, 'closing', 'the broker is stopping');
    Reads = readsModule.QueueReads;
    Ops = opsModule.QueueOps;
    store ??= storeModule.JobStore.acquire(dataDir);
  };
  const open = (): JobStore => store!;
  const queueNames = (): string[] =>
    (open().stmt('SELECT queue FROM jobs_queue UNION SELECT DISTINCT queue FROM jobs_job ORDER BY 1').all() as { queue: string }[]).map((r) => r.queue);
  const reads = (name: string): QueueReads => {
    if (!queueNames().includes(name)) throw notFound(`job queue ${JSON.stringify(name)} does not exist`);
    return new Reads!(open(), name);
  };
  /** The job store's write path for one queue, as a BullMQ Queue on this data dir would use it. */
  const ops = (name: string): QueueOps => {
    let o = opsByQueue.get(name);
    if (!o) {
      o = new Ops!(open(), name, MAX_EVENTS);
      opsByQueue.set(name, o);
    }
    return o;
  };
  const counts = (r: QueueReads): Record<JobState, number> => {
    const n = r.counts(JOB_STATES);
    return Object.fromEntries(JOB_STATES.map((s, i) => [s, n[i] ?? 0])) as Record<JobState, number>;
  };
  const summary = (name: string) => {
    const r = new Reads!(open(), name);
    return { name, paused: r.metaField('paused') !== null, counts: counts(r) };
  };

  router.add('GET', '/api/jobs/queues', async () => {
    await load();
    return { status: 200, body: { queues: queueNames().map(summary) } };
  });

  router.add('GET', '/api/jobs/queues/:queue', async (req) => {
    await load();
    reads(req.params.queue!);
    return { status: 200, body: summary(req.params.queue!) };
  });

  router.add('GET', '/api/jobs/queues/:queue/jobs', async (req) => {
    await load();
    const r = reads(req.params.queue!);
    const state = oneOf(req.query.get('state') ?? 'wait', 'state', JOB_STATES);
    const start = queryInt(req.query, 'start', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = queryInt(req.query, 'limit', 1, MAX_PAGE) ?? 50;
    const order = req.query.get('order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw badRequest('order', 'must be asc or desc');
    const ids = r.ranges([state], start, start + limit - 1, order === 'asc')[0] ?? [];
    const jobs = ids.map((id) => r.job(id)).filter((j): j is JobJson => j !== undefined).map((j) => jobView(j, state));
    return { status: 200, body: { queue: r.queue, state, start, limit, total: counts(r)[state], jobs } };
  });

  router.add('GET', '/api/jobs/queues/:queue/jobs/:id', async (req) => {
    await load();
    const r = reads(req.params.queue!);
    const j = r.job(req.params.id!);
    if (!j) throw notFound(`job ${JSON.stringify(req.params.id)} does not exist in queue ${JSON.stringify(r.queue)}`);
    const state = r.state(j.id);
    return { status: 200, body: { ...jobView(j, state === 'waiting' ? 'wait' : state), logs: r.logs(j.id, 0, -1, true).logs } };
  });

  addJobActionRoutes(router, { load, reads, ops, summary });

  const metricsText = async (): Promise<string> => {
    try {
      await load();
    } catch {
      return '';
    }
    const t = new PromText().family('railyard_jobs', 'gauge', 'Jobs in each BullMQ queue of the data dir, by state.');
    const names = queueNames();
    for (const name of names) {
      const c = counts(new Reads!(open(), name));
      for (const state of JOB_STATES) t.sample('railyard_jobs', { queue: name, state }, c[state]);
    }
    return t.toString() + (await waits.text(open(), names));
  };

  return {
    metricsText,
    close: async () => {
      closed = true;
      const s = store;
      store = undefined;
      await s?.release();
    },
  };
}

interface ActionDeps {
  load(): Promise<void>;
  reads(queue: string): QueueReads;
  ops(queue: string): QueueOps;
  summary(queue: string): Record<string, unknown>;
}

/** Why a job operation was refused, from BullMQ's status code. */
function refused(code: number, id: string, what: string): HttpError {
  if (code === JOB_NOT_EXIST) return notFound(`job ${JSON.stringify(id)} does not exist`);
  return new HttpError(409, 'conflict', `job ${JSON.stringify(id)} cannot be ${what} in its current state (code ${code})`);
}

/** Actions as Bull Board offers them: retry, promote, remove, clean, pause, resume. */
function addJobActionRoutes(router: Router, d: ActionDeps): void {
  const job = (queue: string, id: string): { r: QueueReads; state: string } => {
    const r = d.reads(queue);
    if (!r.job(id)) throw notFound(`job ${JSON.stringify(id)} does not exist in queue ${JSON.stringify(queue)}`);
    return { r, state: r.state(id) };
  };

  router.add('POST', '/api/jobs/queues/:queue/jobs/:id/retry', async (req) => {
    await d.load();
    const { queue, id } = req.params as { queue: string; id: string };
    const { r, state } = job(queue, id);
    const body = objectBody((await req.json()) ?? {});
    const resetAttempts = optionalBoolean(body, 'resetAttempts') ?? false;
    if (state !== 'failed' && state !== 'completed') throw new HttpError(409, 'conflict', `job ${JSON.stringify(id)} is ${state}; only failed or completed jobs can be retried`);
    const code = await d.ops(queue).reprocess(id, state, false, resetAttempts, resetAttempts);
    if (code !== 1) throw refused(code, id, 'retried');
    return { status: 200, body: { queue, id, state: r.state(id) === 'waiting' ? 'wait' : r.state(id) } };
  });

  router.add('POST', '/api/jobs/queues/:queue/jobs/:id/promote', async (req) => {
    await d.load();
    const { queue, id } = req.params as { queue: string; id: string };
    const { r, state } = job(queue, id);
    if (state !== 'delayed') throw new HttpError(409, 'conflict', `job ${JSON.stringify(id)} is ${state}; only delayed jobs can be promoted`);
    const code = await d.ops(queue).promote(id);
    if (code < 0) throw refused(code, id, 'promoted');
    return { status: 200, body: { queue, id, state: r.state(id) === 'waiting' ? 'wait' : r.state(id) } };
  });

  router.add('DELETE', '/api/jobs/queues/:queue/jobs/:id', async (req) => {
    await d.load();
    const { queue, id } = req.params as { queue: string; id: string };
    const { state } = job(queue, id);
    let removed: number;
    try {
      removed = await d.ops(queue).remove(id);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') throw new HttpError(409, 'conflict', (err as Error).message);
      throw err;
    }
    // 0 for a job that exists: an active job whose worker still holds its lock.
    if (removed !== 1) throw new HttpError(409, 'conflict', `job ${JSON.stringify(id)} is ${state} and locked by a worker`);
    return { status: 200, body: { queue, removed: id } };
  });

  router.add('POST', '/api/jobs/queues/:queue/clean', async (req) => {
    await d.load();
    const queue = req.params.queue!;
    d.reads(queue);
    const body = objectBody((await req.json()) ?? {});
    const state = oneOf(body.state, 'state', CLEANABLE);
    const graceMs = optionalInt(body, 'graceMs', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = optionalInt(body, 'limit', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const removed = await d.ops(queue).clean(state, Date.now() - graceMs, limit);
    return { status: 200, body: { queue, state, removed } };
  });

  for (const action of ['pause', 'resume'] as const) {
    router.add('POST', `/api/jobs/queues/:queue/${action}`, async (req) => {
      await d.load();
      const queue = req.params.queue!;
      d.reads(queue);
      await d.ops(queue).pause(action === 'pause');
      return { status: 200, body: d.summary(queue) };
    });
  }
}
