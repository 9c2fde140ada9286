import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Door } from '../../src/context.js';
import { startHttpDoor } from '../../src/http/index.js';
import { createRailyardBackend } from '../../src/jobs.js';
import { startBrokerSchedules, type BrokerScheduler } from '../../src/scheduler/broker-schedules/index.js';
import { startKafkaBroker, type TestKafkaBroker } from '../helpers/kafka-broker.js';
import type { RailyardQueue } from '../helpers/railyard-bullmq.js';
import { runAdmin } from './run-cli.js';

type Json = Record<string, any>;

describe('railyard jobs and schedules', () => {
  let kb: TestKafkaBroker;
  let scheduler: BrokerScheduler;
  let http: Door;
  let queue: RailyardQueue;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    kb = await startKafkaBroker({ logLevel: 'silent' });
    scheduler = startBrokerSchedules({ db: kb.ctx.db, log: kb.ctx.log, logger: kb.ctx.logger });
    http = await startHttpDoor(kb.ctx, { doors: [['kafka', kb.door]], schedules: scheduler });
    env = { RAILYARD_HTTP: `http://127.0.0.1:${http.port}` };
    queue = new Queue('reports', { connection: { dataDir: kb.ctx.options.dataDir } }, createRailyardBackend);
  });
  afterAll(async () => {
    await queue?.close();
    await http?.close();
    await scheduler?.stop();
    await kb?.stop();
  });

  it('jobs counts and jobs list, as tables and as JSON', async () => {
    await queue.add('daily', { day: 1 });
    await queue.add('weekly', { week: 1 }, { delay: 60_000 });

    const counts = await runAdmin(['jobs', 'counts'], { env });
    expect(counts.code).toBe(0);
    expect(counts.stdout).toMatch(/^QUEUE\s+WAIT\s+ACTIVE\s+PRIORITIZED\s+DELAYED\s+COMPLETED\s+FAILED\s+WAITING-CHILDREN\s+PAUSED$/m);
    expect(counts.stdout).toMatch(/^reports\s+1\s+0\s+0\s+1\s+0\s+0\s+0\s+no$/m);
    const one = JSON.parse((await runAdmin(['jobs', 'counts', 'reports', '--json'], { env })).stdout) as Json[];
    expect(one).toEqual([{ name: 'reports', paused: false, counts: { wait: 1, active: 0, prioritized: 0, delayed: 1, completed: 0, failed: 0, 'waiting-children': 0 } }]);

    const list = await runAdmin(['jobs', 'list', 'reports', '--state', 'delayed'], { env });
    expect(list.stdout).toMatch(/^ID\s+NAME\s+STATE\s+ATTEMPTS\s+CREATED\s+FAILED-REASON$/m);
    expect(list.stdout).toMatch(/^\S+\s+weekly\s+delayed\s+0\s+\d{4}-/m);
    expect(list.stdout).toMatch(/1 of 1 delayed jobs/);
    const json = JSON.parse((await runAdmin(['jobs', 'list', 'reports', '--json'], { env })).stdout) as Json;
    expect(json.jobs.map((j: Json) => j.name)).toEqual(['daily']);
  });

  it('jobs retry and jobs clean', async () => {
    await queue.add('monthly', { month: 1 });
    const failing = await queue.add('broken', { x: 1 }, { attempts: 1 });
    const { Worker } = await import('bullmq');
    const worker = new Worker(
      'reports',
      async (job) => {
        if (job.name === 'broken') throw new Error('nope');
        return 'ok';
      },
      { connection: { dataDir: kb.ctx.options.dataDir } },
      createRailyardBackend,
    );
    try {
      for (let i = 0; i < 100; i++) {
        const c = JSON.parse((await runAdmin(['jobs', 'counts', 'reports', '--json'], { env })).stdout) as Json[];
        if (c[0]!.counts.failed === 1 && c[0]!.counts.wait === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await worker.close();
    }
    const retry = await runAdmin(['jobs', 'retry', 'reports', failing.id!], { env });
    expect(retry).toMatchObject({ code: 0, stdout: `job ${failing.id} of reports is wait again\n` });
    const again = await runAdmin(['jobs', 'retry', 'reports', failing.id!], { env });
    expect(again.code).toBe(1);
    const clean = await runAdmin(['jobs', 'clean', 'reports', '--state', 'completed'], { env });
    expect(clean).toMatchObject({ code: 0, stdout: expect.stringMatching(/^removed \d+ completed jobs? from reports\n$/) });
    const cleanJson = JSON.parse((await runAdmin(['jobs', 'clean', 'reports', '--state', 'wait', '--json'], { env })).stdout) as Json;
    expect(cleanJson.removed).toContain(failing.id);
  });

  it('jobs exit codes: 3 for an unknown queue, 2 for usage errors', async () => {
    expect((await runAdmin(['jobs', 'counts', 'nope'], { env })).code).toBe(3);
    expect((await runAdmin(['jobs', 'list', 'nope'], { env })).code).toBe(3);
    expect((await runAdmin(['jobs', 'list', 'reports', '--state', 'asleep'], { env })).code).toBe(2);
    expect((await runAdmin(['jobs', 'list'], { env })).code).toBe(2);
    expect((await runAdmin(['jobs', 'retry'], { env })).code).toBe(2);
    expect((await runAdmin(['jobs', 'retry', 'reports', '99999'], { env })).code).toBe(3);
    expect((await runAdmin(['jobs', 'clean', 'reports'], { env })).code).toBe(2);
    expect((await runAdmin(['jobs', 'clean', 'reports', '--state', 'gone'], { env })).code).toBe(2);
    expect((await runAdmin(['jobs', 'frob'], { env })).code).toBe(2);
    expect((await runAdmin(['jobs'], { env })).code).toBe(2);
  });

  it('schedules list, as a table and as JSON', async () => {
    kb.ctx.log.createTopic('beats', { partitions: 1 });
    scheduler.put({ name: 'nightly', expression: '0 3 * * *', timezone: 'UTC', target: { type: 'kafka', topic: 'beats', value: 'x' } });
    const table = await runAdmin(['schedules', 'list'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+EXPRESSION\s+TIMEZONE\s+TARGET\s+ENABLED\s+NEXT-RUN\s+RUNS\s+LAST-ERROR$/m);
    expect(table.stdout).toMatch(/^nightly\s+0 3 \* \* \*\s+UTC\s+kafka:beats\s+yes\s+\S+T03:00:00\.000Z\s+0\s+-$/m);
    const json = JSON.parse((await runAdmin(['schedules', 'list', '--json'], { env })).stdout) as Json[];
    expect(json).toMatchObject([{ name: 'nightly', enabled: true, target: { type: 'kafka', topic: 'beats' } }]);
    expect((await runAdmin(['schedules', 'delete'], { env })).code).toBe(2);
  });

  it('schedules add and remove, with exit codes scripts can trust', async () => {
    const add = await runAdmin(['schedules', 'add', 'hourly-beat', '--cron', '0 * * * *', '--timezone', 'UTC', '--topic', 'beats', '--value', 'beat {{slot}}', '--key', 'k'], { env });
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^schedule hourly-beat \(0 \* \* \* \*\) -> kafka:beats, next run \S+T\d\d:00:00\.000Z\n$/);
    expect(scheduler.store.get('hourly-beat')).toMatchObject({ expression: '0 * * * *', target: { type: 'kafka', topic: 'beats', value: 'beat {{slot}}', key: 'k' } });

    const job = JSON.parse(
      (await runAdmin(['schedules', 'add', 'cleanup', '--cron', '*/5 * * * *', '--queue', 'reports', '--job', 'purge', '--data', '{"days":7}', '--catch-up', 'once', '--disabled', '--json'], { env })).stdout,
    ) as Json;
    expect(job).toMatchObject({ name: 'cleanup', enabled: false, target: { type: 'job', queue: 'reports', name: 'purge', data: { days: 7 } } });

    expect((await runAdmin(['schedules', 'add', 'x', '--cron', '* * * * *'], { env })).code).toBe(2);
    expect((await runAdmin(['schedules', 'add', 'x', '--cron', '* * * * *', '--topic', 't', '--queue', 'q', '--job', 'j'], { env })).code).toBe(2);
    expect((await runAdmin(['schedules', 'add', 'x', '--cron', '* * * * *', '--queue', 'q', '--job', 'j', '--data', '{nope'], { env })).code).toBe(2);
    const invalid = await runAdmin(['schedules', 'add', 'x', '--cron', '99 * * * *', '--topic', 't', '--value', 'v'], { env });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/expression/);

    expect(await runAdmin(['schedules', 'remove', 'hourly-beat'], { env })).toMatchObject({ code: 0, stdout: 'schedule hourly-beat removed\n' });
    expect(scheduler.store.get('hourly-beat')).toBeUndefined();
    expect((await runAdmin(['schedules', 'remove', 'hourly-beat'], { env })).code).toBe(3);
    expect((await runAdmin(['schedules', 'remove'], { env })).code).toBe(2);
  });
});
