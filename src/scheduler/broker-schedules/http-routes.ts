/** HTTP API of the broker's schedules (mounted by src/http next to the Kafka and AMQP routes). */
import type { Router } from '../../http/router.js';
import { badRequest, notFound } from '../../http/errors.js';
import { InvalidArgumentError } from '../../errors.js';
import type { BrokerScheduler } from './broker-scheduler.js';
import type { StoredSchedule } from './types.js';

export interface ScheduleRoutesDeps {
  scheduler: BrokerScheduler;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function view(s: StoredSchedule, nextRunAt: number | null): Record<string, unknown> {
  return {
    name: s.name,
    expression: s.expression,
    timezone: s.timezone,
    target: s.target,
    catchUp: s.catchUp,
    enabled: s.enabled,
    nextRunAt: iso(nextRunAt),
    lastSlot: iso(s.lastSlot),
    lastError: s.lastError,
    runs: s.runs,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

/** InvalidArgumentError names the field; the HTTP layer answers 400 with it. */
function asHttp(err: unknown): unknown {
  return err instanceof InvalidArgumentError ? badRequest(err.argument, err.message) : err;
}

/**
 * GET /api/schedules, GET|PUT|DELETE /api/schedules/:name, POST /api/schedules/:name/enable|disable|run.
 * PUT takes `{ expression, timezone?, target, catchUp?, enabled? }` and creates or replaces.
 */
export function addScheduleRoutes(router: Router, deps: ScheduleRoutesDeps): void {
  const { scheduler } = deps;
  const find = (name: string): Record<string, unknown> => {
    const s = scheduler.list().find((x) => x.name === name);
    if (!s) throw notFound(`no schedule named ${name}`);
    return view(s, s.nextRunAt);
  };

  router.add('GET', '/api/schedules', () => ({ status: 200, body: { schedules: scheduler.list().map((s) => view(s, s.nextRunAt)) } }));

  router.add('GET', '/api/schedules/:name', (req) => ({ status: 200, body: find(req.params.name!) }));

  router.add('PUT', '/api/schedules/:name', async (req) => {
    const name = req.params.name!;
    const body = await req.json();
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body', 'a JSON object');
    const given = (body as Record<string, unknown>).name;
    if (given !== undefined && given !== name) throw badRequest('name', `must match the path (${name})`);
    const existed = scheduler.store.get(name) !== undefined;
    try {
      scheduler.put({ ...body, name });
    } catch (err) {
      throw asHttp(err);
    }
    return { status: existed ? 200 : 201, body: find(name) };
  });

  router.add('DELETE', '/api/schedules/:name', (req) => {
    if (!scheduler.remove(req.params.name!)) throw notFound(`no schedule named ${req.params.name}`);
    return { status: 204 };
  });

  for (const action of ['enable', 'disable'] as const) {
    router.add('POST', `/api/schedules/:name/${action}`, (req) => {
      const name = req.params.name!;
      if (!scheduler.store.get(name)) throw notFound(`no schedule named ${name}`);
      try {
        scheduler.setEnabled(name, action === 'enable');
      } catch (err) {
        throw asHttp(err);
      }
      return { status: 200, body: find(name) };
    });
  }

  router.add('POST', '/api/schedules/:name/run', async (req) => {
    const name = req.params.name!;
    if (!scheduler.store.get(name)) throw notFound(`no schedule named ${name}`);
    const r = await scheduler.runNow(name);
    return { status: 200, body: { ...find(name), run: { at: new Date(r.slot).toISOString(), ok: r.error === null, error: r.error } } };
  });
}
