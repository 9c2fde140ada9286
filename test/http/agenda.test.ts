import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agenda } from 'agenda';
import { startBroker, type Broker } from '../../src/broker.js';
import { RailyardAgendaBackend } from '../../src/agenda.js';
import { apiClient } from './helpers.js';

type Json = Record<string, any>;

describe('Agenda API (Agenda jobs in the data dir)', () => {
  let broker: Broker;
  let api: ReturnType<typeof apiClient>;
  let agenda: Agenda;

  beforeAll(async () => {
    broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent' });
    api = apiClient(broker.http.url);
    agenda = new Agenda({ backend: new RailyardAgendaBackend({ dataDir: broker.dataDir }), processEvery: 100 });
  });
  afterAll(async () => {
    await agenda?.stop();
    await broker?.stop();
  });

  it('shows jobs per name and state with next run, last run and failures; disables and enables a job', async () => {
    agenda.define('broken', async () => {
      throw new Error('disk full');
    });
    agenda.define('report', async () => {});
    const failed = new Promise<void>((resolve) => agenda.once('fail:broken', () => resolve()));
    await agenda.start();
    await agenda.now('broken');
    await agenda.schedule('in 1 hour', 'report', { to: 'ops' });
    await failed;
    // The failure is recorded by the save that follows the event.
    let broken: Json | undefined;
    for (let i = 0; i < 50; i++) {
      const list = await api<Json>('GET', '/api/agenda/jobs?state=failed');
      broken = list.body.jobs[0];
      if (broken) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(broken).toMatchObject({ name: 'broken', state: 'failed', failCount: 1, failReason: 'disk full' });
    expect(broken!.lastRunAt).not.toBeNull();

    const overview = await api<Json>('GET', '/api/agenda/overview');
    expect(overview.body.names).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'broken', failed: 1 }), expect.objectContaining({ name: 'report', scheduled: 1 })]),
    );

    const scheduled = await api<Json>('GET', '/api/agenda/jobs?name=report');
    expect(scheduled.body.total).toBe(1);
    const report = scheduled.body.jobs[0];
    expect(report).toMatchObject({ name: 'report', state: 'scheduled', disabled: false, data: { to: 'ops' } });
    expect(Date.parse(report.nextRunAt)).toBeGreaterThan(Date.now() + 30 * 60_000);

    expect((await api<Json>('GET', `/api/agenda/jobs/${report.id}`)).body).toMatchObject({ id: report.id, name: 'report' });
    expect((await api<Json>('POST', `/api/agenda/jobs/${report.id}/disable`)).body).toMatchObject({ disabled: true });
    expect((await api<Json>('GET', '/api/agenda/jobs?state=paused')).body.jobs.map((j: Json) => j.id)).toEqual([report.id]);
    expect((await api<Json>('POST', `/api/agenda/jobs/${report.id}/enable`)).body).toMatchObject({ disabled: false });
  });

  it('runs a scheduled job now: the running Agenda picks it up from the store', async () => {
    const ran = new Promise<void>((resolve) => agenda.define('nightly', async () => resolve()));
    const job = await agenda.schedule('in 2 hours', 'nightly', {});
    const id = String(job.attrs._id);
    const r = await api<Json>('POST', `/api/agenda/jobs/${id}/run`);
    expect(r.status).toBe(200);
    expect(Date.parse(r.body.nextRunAt)).toBeLessThanOrEqual(Date.now());
    await ran;
    expect((await api('POST', '/api/agenda/jobs/nope/run')).status).toBe(404);
    await api('POST', `/api/agenda/jobs/${id}/disable`);
    expect((await api<Json>('POST', `/api/agenda/jobs/${id}/run`)).status).toBe(409);
  });

  it('answers 404 for unknown jobs and 400 for bad query fields', async () => {
    expect((await api('GET', '/api/agenda/jobs/nope')).status).toBe(404);
    expect((await api('POST', '/api/agenda/jobs/nope/disable')).status).toBe(404);
    expect(await api('GET', '/api/agenda/jobs?state=sleeping')).toMatchObject({ status: 400, body: { field: 'state' } });
    expect(await api('GET', '/api/agenda/jobs?limit=5000')).toMatchObject({ status: 400, body: { field: 'limit' } });
  });
});
