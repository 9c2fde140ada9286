import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Door } from '../../src/context.js';
import { startHttpDoor } from '../../src/http/index.js';
import { startBrokerSchedules, type BrokerScheduler } from '../../src/scheduler/broker-schedules/index.js';
import { startKafkaBroker, type TestKafkaBroker } from '../helpers/kafka-broker.js';
import { apiClient } from './helpers.js';

type Json = Record<string, any>;

describe('schedules API mounted on the HTTP door', () => {
  let kb: TestKafkaBroker;
  let scheduler: BrokerScheduler;
  let http: Door;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    kb = await startKafkaBroker({ logLevel: 'silent' });
    scheduler = startBrokerSchedules({ db: kb.ctx.db, log: kb.ctx.log, logger: kb.ctx.logger });
    http = await startHttpDoor(kb.ctx, { doors: [['kafka', kb.door]], schedules: scheduler });
    api = apiClient(`http://127.0.0.1:${http.port}`);
  });
  afterAll(async () => {
    await http?.close();
    await scheduler?.stop();
    await kb?.stop();
  });

  it('creates, lists, disables, enables and deletes a schedule', async () => {
    kb.ctx.log.createTopic('ticks', { partitions: 1 });
    const def = { expression: '0 0 1 1 *', target: { type: 'kafka', topic: 'ticks', value: 'tick {{slot}}' } };
    const created = await api<Json>('PUT', '/api/schedules/yearly', def);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'yearly', expression: '0 0 1 1 *', enabled: true });
    expect(created.body.nextRunAt).toMatch(/-01-01T/);

    expect((await api<Json>('GET', '/api/schedules')).body.schedules.map((s: Json) => s.name)).toEqual(['yearly']);
    expect((await api<Json>('POST', '/api/schedules/yearly/disable')).body).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await api<Json>('POST', '/api/schedules/yearly/enable')).body).toMatchObject({ enabled: true });

    const bad = await api<Json>('PUT', '/api/schedules/broken', { expression: 'not cron', target: def.target });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toMatch(/expression/);

    const deleted = await api('DELETE', '/api/schedules/yearly');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expect((await api('GET', '/api/schedules/yearly')).status).toBe(404);
  });

  it('runs a schedule now without moving its next slot or catch-up bookmark', async () => {
    kb.ctx.log.createTopic('now-ticks', { partitions: 1 });
    const def = { expression: '0 0 1 1 *', target: { type: 'kafka', topic: 'now-ticks', value: 'tick {{name}}' } };
    const created = await api<Json>('PUT', '/api/schedules/newyear', def);
    const r = await api<Json>('POST', '/api/schedules/newyear/run');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'newyear', runs: 1, lastSlot: null, lastError: null, nextRunAt: created.body.nextRunAt, run: { ok: true, error: null } });
    const topic = await api<Json>('GET', '/api/kafka/topics/now-ticks');
    expect(topic.body.records).toBe(1);
    // A disabled schedule can still be run by hand; it stays disabled.
    await api('POST', '/api/schedules/newyear/disable');
    expect((await api<Json>('POST', '/api/schedules/newyear/run')).body).toMatchObject({ runs: 2, enabled: false, nextRunAt: null });
    expect((await api<Json>('GET', '/api/kafka/topics/now-ticks')).body.records).toBe(2);
    expect((await api('POST', '/api/schedules/absent/run')).status).toBe(404);
  });

  it('keeps the regular slots after a run-now', async () => {
    kb.ctx.log.createTopic('every-second', { partitions: 1 });
    await api('PUT', '/api/schedules/secondly', { expression: '* * * * * *', target: { type: 'kafka', topic: 'every-second', value: 'x' } });
    const before = (await api<Json>('GET', '/api/schedules/secondly')).body.nextRunAt;
    const ran = await api<Json>('POST', '/api/schedules/secondly/run');
    expect(ran.body.run.ok).toBe(true);
    // The slot armed before the run-now still fires (a regular slot may land between the calls, hence >=).
    let s: Json = ran.body;
    for (let i = 0; i < 40 && s.lastSlot === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = (await api<Json>('GET', '/api/schedules/secondly')).body;
    }
    expect(Date.parse(s.lastSlot)).toBeGreaterThanOrEqual(Date.parse(before));
    expect(s.runs).toBeGreaterThanOrEqual(2);
    await api('DELETE', '/api/schedules/secondly');
  });

  it('records a failed run-now as the schedule\'s last error', async () => {
    await api('PUT', '/api/schedules/to-nowhere', { expression: '0 0 1 1 *', target: { type: 'amqp', exchange: 'x', routingKey: 'k', body: 'b' } });
    const r = await api<Json>('POST', '/api/schedules/to-nowhere/run');
    expect(r.status).toBe(200);
    expect(r.body.run.ok).toBe(false);
    expect(r.body.lastError).toMatch(/no amqp emitter/);
  });
});
