import type { JobParameters } from 'agenda';
import { RailyardAgendaBackend } from '../scheduler/agenda/backend.js';
import { conflict, notFound } from './errors.js';
import type { Router } from './router.js';
import { oneOf, queryInt } from './validate.js';

const AGENDA_STATES = ['running', 'scheduled', 'queued', 'completed', 'failed', 'repeating', 'paused'] as const;
const MAX_PAGE = 1000;

export interface AgendaRoutes {
  close(): Promise<void>;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

function jobView(j: JobParameters & { state?: string }): Record<string, unknown> {
  return {
    id: j._id === undefined ? null : String(j._id),
    name: j.name,
    type: j.type,
    ...(j.state !== undefined ? { state: j.state } : {}),
    disabled: j.disabled === true,
    priority: j.priority,
    nextRunAt: iso(j.nextRunAt),
    lastRunAt: iso(j.lastRunAt),
    lastFinishedAt: iso(j.lastFinishedAt),
    lockedAt: iso(j.lockedAt),
    failedAt: iso(j.failedAt),
    failCount: j.failCount ?? 0,
    failReason: j.failReason ?? null,
    repeatInterval: j.repeatInterval ?? null,
    repeatTimezone: j.repeatTimezone ?? null,
    data: j.data ?? null,
  };
}

/**
 * Agenda jobs stored in the data dir (by any process using `railyard/agenda`), read through the
 * Agenda backend's own repository; disable/enable go through it too, as Agendash's buttons do.
 */
export function addAgendaRoutes(router: Router, dataDir: string): AgendaRoutes {
  let backend: RailyardAgendaBackend | undefined;
  const repo = () => (backend ??= new RailyardAgendaBackend({ dataDir, notifications: false })).repository;
  const requireJob = async (id: string): Promise<JobParameters> => {
    const job = await repo().getJobById(id);
    if (!job) throw notFound(`Agenda job ${JSON.stringify(id)} does not exist`);
    return job;
  };

  router.add('GET', '/api/agenda/overview', async () => ({ status: 200, body: { names: await repo().getJobsOverview() } }));

  router.add('GET', '/api/agenda/jobs', async (req) => {
    const q = req.query;
    const state = q.get('state') === null ? undefined : oneOf(q.get('state'), 'state', AGENDA_STATES);
    const skip = queryInt(q, 'skip', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = queryInt(q, 'limit', 1, MAX_PAGE) ?? 50;
    const name = q.get('name') || undefined;
    const res = await repo().queryJobs({ ...(name ? { name } : {}), ...(state ? { state } : {}), skip, limit });
    return { status: 200, body: { total: res.total, skip, limit, jobs: res.jobs.map(jobView) } };
  });

  router.add('GET', '/api/agenda/jobs/:id', async (req) => ({ status: 200, body: jobView(await requireJob(req.params.id!)) }));

  for (const action of ['disable', 'enable'] as const) {
    router.add('POST', `/api/agenda/jobs/:id/${action}`, async (req) => {
      const id = req.params.id!;
      await requireJob(id);
      if (action === 'disable') await repo().disableJobs({ id });
      else await repo().enableJobs({ id });
      return { status: 200, body: jobView(await requireJob(id)) };
    });
  }

  // Run now: moving nextRunAt to now through Agenda's own repository is what a running Agenda's
  // poll looks for, so the job runs in whichever process processes it, with its usual locking.
  router.add('POST', '/api/agenda/jobs/:id/run', async (req) => {
    const id = req.params.id!;
    const job = await requireJob(id);
    if (job.lockedAt) throw conflict(`Agenda job ${JSON.stringify(id)} is running`);
    if (job.disabled) throw conflict(`Agenda job ${JSON.stringify(id)} is disabled; enable it first`);
    await repo().saveJobState({ ...job, nextRunAt: new Date() }, { lastModifiedBy: 'railyard-http' });
    return { status: 200, body: jobView(await requireJob(id)) };
  });

  return {
    close: async () => {
      await backend?.disconnect();
      backend = undefined;
    },
  };
}
