import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import { openDatabase, migrate } from '../../src/store/sqlite.js';
import { JOBS_MIGRATIONS } from '../../src/queue/schema.js';
import { until } from './targets.js';

// Event ids are not dense and the id counters share the event table (schema V3, V4): these pin
// what that must not change.
describe('event rows and counters', () => {
  let dataDir: string;
  const closers: { close(): Promise<void> }[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-events-'));
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps event ids increasing after every event was trimmed away, so a reader misses nothing', async () => {
    const connection = { dataDir };
    const q = new Queue('t', { connection }, createRailyardBackend);
    const events = new QueueEvents('t', { connection }, createRailyardBackend);
    closers.push(events, q);
    await events.waitUntilReady();
    const added: string[] = [];
    events.on('added', ({ jobId }) => added.push(jobId));
    await q.add('a', {});
    await until(() => added.length === 1);
    await q.trimEvents(0);
    await q.add('b', {});
    await until(() => added.length === 2);
    expect(added).toEqual(['1', '2']);
    // trimEvents keeps the newest rows, and never the counters: ids go on from 3.
    await q.add('c', {});
    await q.trimEvents(1);
    expect((await q.add('d', {})).id).toBe('4');
    await until(() => added.length === 4);
    expect(added).toEqual(['1', '2', '3', '4']);
  });

  it('puts its next event row above one another connection wrote since (the cached last id is dropped)', async () => {
    const connection = { dataDir };
    const q = new Queue('x', { connection }, createRailyardBackend);
    closers.push(q);
    await q.add('a', {});
    // Another process's event row, far in the future: the next row of this one must follow it.
    const other = openDatabase(dataDir);
    const far = Date.now() * 1000 + 3_600_000_000;
    other.prepare(`INSERT INTO jobs_event (queue, id, events) VALUES ('x', ?, '[]')`).run(far);
    await q.add('b', {});
    const ids = (other.prepare(`SELECT id FROM jobs_event WHERE queue = 'x' AND id < ${Number.MAX_SAFE_INTEGER} ORDER BY id`).all() as { id: number }[]).map((r) => r.id);
    other.close();
    expect(ids).toHaveLength(3);
    expect(ids[2]).toBe(far + 1);
  });

  it('takes job ids after those another connection reserved since, and after an obliterate starts them afresh', async () => {
    const connection = { dataDir };
    const q = new Queue('c', { connection }, createRailyardBackend);
    closers.push(q);
    expect((await q.add('a', {})).id).toBe('1');
    expect((await q.add('b', {})).id).toBe('2');
    // Another process reserves ids 3..12: this connection's remembered counters are stale.
    const other = openDatabase(dataDir);
    other.prepare(`UPDATE jobs_event SET id_counter = id_counter + 10, seq_counter = seq_counter + 10 WHERE queue = 'c' AND id = ${Number.MAX_SAFE_INTEGER}`).run();
    other.close();
    expect((await q.add('c', {})).id).toBe('13');
    await q.pause();
    await q.obliterate({ force: true });
    expect((await q.add('d', {})).id).toBe('1');
    expect((await q.add('e', {})).id).toBe('2');
  });

  it('carries counters and events of a store written before the counters moved', async () => {
    const db = openDatabase(dataDir);
    migrate(db, 'jobs', JOBS_MIGRATIONS.slice(0, 2));
    db.prepare("INSERT INTO jobs_queue (queue, id_counter, seq_counter) VALUES ('old', 41, 41)").run();
    db.prepare(`INSERT INTO jobs_event (queue, events) VALUES ('old', '[["event","added","jobId","41","name","x"]]')`).run();
    db.close();
    const connection = { dataDir };
    const q = new Queue('old', { connection }, createRailyardBackend);
    closers.push(q);
    expect((await q.add('x', {})).id).toBe('42');
    const events = new QueueEvents('old', { connection, lastEventId: '0' }, createRailyardBackend);
    closers.push(events);
    const seen: string[] = [];
    events.on('added', ({ jobId }) => seen.push(jobId));
    await until(() => seen.length === 2);
    expect(seen).toEqual(['41', '42']);
  });
  it('stores a large batch of events compressed and a small one as JSON text, and reads both, and rows of earlier versions', async () => {
    const connection = { dataDir };
    const q = new Queue('z', { connection }, createRailyardBackend);
    const events = new QueueEvents('z', { connection }, createRailyardBackend);
    closers.push(events, q);
    await events.waitUntilReady();
    const added: string[] = [];
    events.on('added', ({ jobId, name }) => added.push(`${jobId}:${name}`));
    // Rows as an earlier version wrote them: JSON text, whatever their size.
    const other = openDatabase(dataDir);
    const legacy = Array.from({ length: 40 }, (_, i) => ['event', 'added', 'jobId', `old${i}`, 'name', 'legacy']);
    other.prepare(`INSERT INTO jobs_event (queue, id, events) VALUES ('z', ?, ?)`).run(Date.now() * 1000, JSON.stringify(legacy));
    await q.add('one', {});
    await q.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: `bulk-${i}`, data: { i } })));
    await until(() => added.length === 141);
    const rows = other.prepare(`SELECT typeof(events) AS t, length(events) AS n FROM jobs_event WHERE queue = 'z' AND id < ${Number.MAX_SAFE_INTEGER} ORDER BY id`).all() as { t: string; n: number }[];
    other.close();
    expect(rows.map((r) => r.t)).toEqual(['text', 'text', 'blob']);
    // 100 'added' and 100 'waiting' events: ~10 KB of JSON, stored in well under a page.
    expect(rows[2]!.n).toBeLessThan(2000);
    expect(added.slice(0, 2)).toEqual(['old0:legacy', 'old1:legacy']);
    expect(added[40]).toBe('1:one');
    expect(added.slice(41)).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 2}:bulk-${i}`));
  });
});
