import type { JobJson } from 'bullmq';
import type { QueueReads } from '../queue/queue-reads.js';
import type { JobStore } from '../queue/store.js';
import { HttpError, badRequest, notFound } from './errors.js';
import type { Router } from './router.js';
import { oneOf, queryInt } from './validate.js';

/** BullMQ's job states, as its getJobCounts() names them. */
export const JOB_STATES = ['wait', 'active', 'prioritized', 'delayed', 'completed', 'failed', 'waiting-children'] as const;
type JobState = (typeof JOB_STATES)[number];

const MAX_PAGE = 1000;

export interface JobsRoutes {
  close(): void;
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
  let closed = false;
  // Loaded on first use: the job store's modules need bullmq (an optional peer of the broker), and a
  // broker whose jobs nobody looks at should not pay for loading it.
  const load = async (): Promise<void> => {
    if (store && Reads) return;
    let storeModule: typeof import('../queue/store.js');
    let readsModule: typeof import('../queue/queue-reads.js');
    try {
      [storeModule, readsModule] = await Promise.all([import('../queue/store.js'), import('../queue/queue-reads.js')]);
    } catch (err) {
      throw new HttpError(501, 'not_available', `job views need the bullmq package installed (${(err as Error).message})`);
    }
    if (closed) throw new HttpError(503, 'closing', 'the broker is stopping');
    Reads = readsModule.QueueReads;
    store ??= storeModule.JobStore.acquire(dataDir);
  };
  const open = (): JobStore => store!;
  const queueNames = (): string[] =>
    (open().stmt('SELECT queue FROM jobs_queue UNION SELECT DISTINCT queue FROM jobs_job ORDER BY 1').all() as { queue: string }[]).map((r) => r.queue);
  const reads = (name: string): QueueReads => {
    if (!queueNames().includes(name)) throw notFound(`job queue ${JSON.stringify(name)} does not exist`);
    return new Reads!(open(), name);
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

  return {
    close: () => {
      closed = true;
      store?.release();
      store = undefined;
    },
  };
}
