import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/sqlite.js';
import { createLogger } from '../../src/logger.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { openLogStore, decodeRecordBatches } from '../../src/log/index.js';
import { BrokerScheduler } from '../../src/scheduler/broker-schedules/broker-scheduler.js';
import { kafkaEmitter } from '../../src/scheduler/broker-schedules/kafka-emitter.js';
import { startBrokerSchedules } from '../../src/scheduler/broker-schedules/start.js';
import { validateDefinition } from '../../src/scheduler/broker-schedules/validate.js';
import type { EmitContext, Emitters, ScheduleTarget } from '../../src/scheduler/broker-schedules/types.js';
import { addScheduleRoutes } from '../../src/scheduler/broker-schedules/http-routes.js';
import { Router, type Reply, type RequestInfo } from '../../src/http/router.js';
import { HttpError } from '../../src/http/errors.js';
import type { IncomingMessage } from 'node:http';

const logger = createLogger('silent');
const dirs: string[] = [];
const dbs: Db[] = [];
function db(): { dir: string; db: Db } {
  const dir = mkdtempSync(join(tmpdir(), 'ry-sched-'));
  dirs.push(dir);
  const d = openDatabase(dir);
  dbs.push(d);
  return { dir, db: d };
}
afterEach(() => {
  vi.useRealTimers();
  for (const d of dbs.splice(0)) if (d.open) d.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Emitters that record what they were asked to emit (the doors supply the real ones). */
function recorder(): { emitters: Emitters; seen: { target: ScheduleTarget; ctx: EmitContext }[] } {
  const seen: { target: ScheduleTarget; ctx: EmitContext }[] = [];
  const rec = async (target: ScheduleTarget, ctx: EmitContext): Promise<void> => { seen.push({ target, ctx }); };
  return { emitters: { kafka: rec, job: rec }, seen };
}

const kafka = (topic = 'ticks'): ScheduleTarget => ({ type: 'kafka', topic, value: 'tick {{slot}}' });
const T0 = Date.parse('2026-06-01T12:00:00.500Z');

describe('broker schedule definitions', () => {
  it('name the offending field', () => {
    const bad = (input: unknown, argument: string): void => {
      let caught: unknown;
      try {
        validateDefinition(input);
      } catch (err) {
        caught = err;
      }
      expect(caught, argument).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).argument).toBe(argument);
    };
    bad({ name: 'a', expression: '61 * * * *', target: kafka() }, 'expression (minute)');
    bad({ name: 'a', expression: '* * * * *', timezone: 'Nope/Nope', target: kafka() }, 'timezone');
    bad({ name: 'a b', expression: '* * * * *', target: kafka() }, 'name');
    bad({ name: 'a', expression: '* * * * *', target: { type: 'kafka' } }, 'target.topic');
    bad({ name: 'a', expression: '* * * * *', target: { type: 'smtp' } }, 'target.type');
    bad({ name: 'a', expression: '* * * * *', target: kafka(), catchUp: 'all' }, 'catchUp');
    expect(validateDefinition({ name: 'a', expression: '0 * * * *', target: kafka() })).toMatchObject({ catchUp: 'skip', enabled: true });
  });
});

describe('BrokerScheduler', () => {
  it('emits each slot on time, with the slot in the context, and records runs', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    const { db: d } = db();
    const { emitters, seen } = recorder();
    const s = new BrokerScheduler({ db: d, emitters, logger });
    s.start();
    s.put({ name: 'ticks', expression: '*/10 * * * * *', target: kafka() });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(seen.map((x) => new Date(x.ctx.slot).toISOString())).toEqual(['2026-06-01T12:00:10.000Z', '2026-06-01T12:00:20.000Z', '2026-06-01T12:00:30.000Z']);
    expect(s.store.get('ticks')).toMatchObject({ runs: 3, lastSlot: Date.parse('2026-06-01T12:00:30.000Z'), lastError: null });
    expect(s.list()[0]!.nextRunAt).toBe(Date.parse('2026-06-01T12:00:40.000Z'));
    await s.stop();
  });

  it('reports regular emissions to onEmit listeners with their slot, but not catch-up ones', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    const { db: d } = db();
    const before = new BrokerScheduler({ db: d, emitters: recorder().emitters, logger });
    before.start();
    before.put({ name: 'once', expression: '0 * * * * *', target: kafka('a'), catchUp: 'once' });
    await vi.advanceTimersByTimeAsync(60_000);
    await before.stop();

    vi.setSystemTime(T0 + 60_000 + 3600_000);
    const rec = recorder();
    const after = new BrokerScheduler({ db: d, emitters: rec.emitters, logger });
    const samples: { name: string; slot: number; at: number }[] = [];
    const off = after.onEmit((x) => samples.push(x));
    after.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(rec.seen.map((x) => x.ctx.catchUp)).toEqual([true]);
    expect(samples).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(samples).toHaveLength(1);
    expect(samples[0]!.name).toBe('once');
    expect(samples[0]!.slot % 60_000).toBe(0);
    expect(samples[0]!.at - samples[0]!.slot).toBeGreaterThanOrEqual(0);
    expect(samples[0]!.at - samples[0]!.slot).toBeLessThan(1000);
    off();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(rec.seen.filter((x) => !x.ctx.catchUp)).toHaveLength(2);
    expect(samples).toHaveLength(1);
    await after.stop();
  });

  it('after downtime, emits once for missed slots with catch-up "once" and not at all with "skip"', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    const { db: d } = db();
    const first = recorder();
    const before = new BrokerScheduler({ db: d, emitters: first.emitters, logger });
    before.start();
    before.put({ name: 'once', expression: '0 * * * * *', target: kafka('a'), catchUp: 'once' });
    before.put({ name: 'skip', expression: '0 * * * * *', target: kafka('b'), catchUp: 'skip' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(first.seen.length).toBe(2);
    await before.stop();

    // Down for 3 hours: 180 slots pass unseen.
    vi.setSystemTime(T0 + 60_000 + 3 * 3600_000);
    const second = recorder();
    const after = new BrokerScheduler({ db: d, emitters: second.emitters, logger });
    after.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(second.seen.map((x) => [x.ctx.name, x.ctx.catchUp, new Date(x.ctx.slot).toISOString()])).toEqual([['once', true, '2026-06-01T15:01:00.000Z']]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(second.seen.filter((x) => !x.ctx.catchUp).map((x) => x.ctx.name).sort()).toEqual(['once', 'skip']);
    await after.stop();
  });

  it('keeps going when an emitter fails, and reports targets this broker cannot emit to', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    const { db: d } = db();
    let calls = 0;
    const s = new BrokerScheduler({ db: d, logger, emitters: { kafka: async () => { calls++; if (calls === 1) throw new Error('topic gone'); } } });
    s.start();
    s.put({ name: 'k', expression: '* * * * * *', target: kafka() });
    s.put({ name: 'q', expression: '* * * * * *', target: { type: 'amqp', exchange: 'x', body: 'b' } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.store.get('k')!.lastError).toBe('topic gone');
    expect(s.store.get('q')!.lastError).toBe('this broker has no amqp emitter');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(2);
    expect(s.store.get('k')).toMatchObject({ lastError: null, runs: 2 });
    await s.stop();
  });

  it('disables, enables, replaces and removes schedules', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    const { db: d } = db();
    const { emitters, seen } = recorder();
    const s = new BrokerScheduler({ db: d, emitters, logger });
    s.start();
    s.put({ name: 'j', expression: '* * * * * *', target: { type: 'job', queue: 'mail', name: 'digest', data: { at: '{{slot}}' } }, enabled: false });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen.length).toBe(0);
    s.setEnabled('j', true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(seen.length).toBe(2);
    s.put({ name: 'j', expression: '*/10 * * * * *', target: { type: 'job', queue: 'mail', name: 'digest' } });
    expect(s.store.get('j')!.runs).toBe(2);
    expect(s.remove('j')).toBe(true);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(seen.length).toBe(2);
    expect(() => s.setEnabled('j', true)).toThrow(InvalidArgumentError);
    await s.stop();
  });
});

describe('kafkaEmitter', () => {
  it('appends one record per slot to the topic partition, timestamped with the slot', async () => {
    const { dir, db: d } = db();
    const log = await openLogStore({ dataDir: dir, db: d, fsync: 'never', fsyncIntervalMs: 1000, topicDefaults: {}, logger });
    try {
      log.createTopic('ticks', { partitions: 2 });
      const emit = kafkaEmitter(log);
      const slot = Date.parse('2026-06-01T12:00:10.000Z');
      await emit({ type: 'kafka', topic: 'ticks', partition: 1, key: '{{name}}', value: 'tick {{slot}}', headers: { kind: 'cron' } }, { name: 'ticker', slot, catchUp: false });
      const p = log.partition('ticks', 1)!;
      expect(p.logEndOffset).toBe(1);
      const [batch] = decodeRecordBatches(Buffer.concat(p.read(0, 1 << 20).chunks));
      const rec = batch!.records[0]!;
      expect(rec.key!.toString()).toBe('ticker');
      expect(rec.value!.toString()).toBe('tick 2026-06-01T12:00:10.000Z');
      expect(rec.timestamp).toBe(slot);
      expect(rec.headers.map((h) => [h.key, Buffer.from(h.value as Uint8Array).toString()])).toEqual([['kind', 'cron'], ['railyard-schedule', 'ticker']]);
      await expect(emit({ type: 'kafka', topic: 'missing', value: 'x' }, { name: 'n', slot, catchUp: false })).rejects.toThrow(/missing/);
    } finally {
      await log.close();
    }
  });
});

describe('schedule HTTP routes', () => {
  async function call(router: Router, method: string, path: string, body?: unknown): Promise<Reply> {
    const m = router.match(method, path);
    if (m.kind !== 'found') throw new Error(`no route ${method} ${path}`);
    const req: RequestInfo = { method, path, params: m.params, query: new URLSearchParams(), json: async () => body, raw: {} as IncomingMessage };
    return m.handler(req);
  }

  it('creates, lists, disables, replaces and deletes schedules, answering 400 with the field at fault', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    const { db: d } = db();
    const scheduler = new BrokerScheduler({ db: d, emitters: recorder().emitters, logger });
    scheduler.start();
    const router = new Router();
    addScheduleRoutes(router, { scheduler });
    const created = await call(router, 'PUT', '/api/schedules/nightly', { expression: '0 3 * * *', timezone: 'Europe/London', target: kafka(), catchUp: 'once' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'nightly', enabled: true, nextRunAt: '2026-06-02T02:00:00.000Z', runs: 0 });
    expect((await call(router, 'PUT', '/api/schedules/nightly', { expression: '0 4 * * *', target: kafka() })).status).toBe(200);
    expect(((await call(router, 'GET', '/api/schedules')).body as { schedules: unknown[] }).schedules).toHaveLength(1);
    expect((await call(router, 'POST', '/api/schedules/nightly/disable')).body).toMatchObject({ enabled: false, nextRunAt: null });
    await expect(call(router, 'PUT', '/api/schedules/bad', { expression: '0 25 * * *', target: kafka() })).rejects.toMatchObject({ status: 400, field: 'expression (hour)' });
    await expect(call(router, 'PUT', '/api/schedules/x', { name: 'y', expression: '* * * * *', target: kafka() })).rejects.toBeInstanceOf(HttpError);
    expect((await call(router, 'DELETE', '/api/schedules/nightly')).status).toBe(204);
    await expect(call(router, 'GET', '/api/schedules/nightly')).rejects.toMatchObject({ status: 404 });
    await scheduler.stop();
  });
});

describe('startBrokerSchedules', () => {
  it('applies configured schedules and produces to the log on the real clock', async () => {
    const { dir, db: d } = db();
    const log = await openLogStore({ dataDir: dir, db: d, fsync: 'never', fsyncIntervalMs: 1000, topicDefaults: {}, logger });
    try {
      log.createTopic('heartbeat', { partitions: 1 });
      expect(() => startBrokerSchedules({ db: d, log, logger, schedules: [{ name: 'x', expression: '* * * * *', target: { type: 'kafka' } }] }))
        .toThrow(/schedules\[0\]\.target\.topic/);
      const scheduler = startBrokerSchedules({
        db: d, log, logger,
        schedules: [{ name: 'beat', expression: '* * * * * *', target: { type: 'kafka', topic: 'heartbeat', value: '{"at":"{{slot}}"}' } }],
      });
      const p = log.partition('heartbeat', 0)!;
      const end = Date.now() + 5_000;
      while (p.logEndOffset < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await scheduler.stop();
      const records = decodeRecordBatches(Buffer.concat(p.read(0, 1 << 20).chunks)).flatMap((b) => b.records);
      expect(records.length).toBeGreaterThanOrEqual(2);
      for (const r of records) {
        expect(r.timestamp % 1000).toBe(0);
        expect(JSON.parse(r.value!.toString())).toEqual({ at: new Date(r.timestamp).toISOString() });
      }
    } finally {
      await log.close();
    }
  });
});
