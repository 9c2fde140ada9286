import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { Agenda } from 'agenda';
import amqplib from 'amqplib';
import { RailyardAgendaBackend } from '../../../src/agenda.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startBroker, type Broker } from '../../../src/broker.js';
import { createRailyardBackend } from '../../../src/jobs.js';
import { apiClient } from '../helpers.js';
import { chromiumMissing, launch, shot, watchErrors } from './browser.js';

type Json = Record<string, any>;
const skip = chromiumMissing();

describe.skipIf(skip !== null)(`dashboard in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let broker: Broker;
  let api: ReturnType<typeof apiClient>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    const started = Promise.all([startBroker({ host: '127.0.0.1', logLevel: 'silent' }), launch()]);
    [broker, browser] = await started;
    api = apiClient(broker.http.url);

    // Kafka: topics with records, and a group whose committed offsets trail the log end.
    expect((await api('POST', '/api/kafka/topics', { name: 'orders', partitions: 3 })).status).toBe(201);
    expect((await api('POST', '/api/kafka/topics', { name: 'payments', partitions: 1, configs: { 'retention.ms': '3600000' } })).status).toBe(201);
    const records = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ order: i }) }));
    expect((await api('POST', '/api/kafka/topics/orders/records', { records })).status).toBe(200);
    expect((await api('POST', '/api/kafka/groups/billing/reset-offsets', { to: 'earliest', topics: ['orders'] })).status).toBe(200);

    // Jobs: one completed, one failed, one delayed.
    const connection = { dataDir: broker.dataDir };
    const queue = new Queue('mail', { connection }, createRailyardBackend);
    await queue.add('welcome', { to: 'a@example.com' });
    await queue.add('boom', { to: 'b@example.com' }, { attempts: 1 });
    await new Promise<void>((resolve) => {
      let finished = 0;
      const worker = new Worker(
        'mail',
        async (job) => {
          await job.log(`sending to ${job.data.to}`);
          if (job.name === 'boom') throw new Error('smtp down');
          return { sent: true };
        },
        { connection } as never,
        createRailyardBackend,
      );
      const tick = () => {
        if (++finished === 2) void worker.close().then(() => resolve());
      };
      worker.on('completed', tick);
      worker.on('failed', tick);
    });
    await queue.add('digest', { to: 'c@example.com' }, { delay: 3_600_000 });
    await queue.close();

    // A broker schedule far in the future, so it does not fire during the test.
    expect((await api('PUT', '/api/schedules/yearly-report', { expression: '0 0 1 1 *', target: { type: 'kafka', topic: 'payments', value: 'report {{slot}}' } })).status).toBe(201);

    // Agenda: a job scheduled for later, stored in the same data dir; nothing processes it here.
    const agenda = new Agenda({ backend: new RailyardAgendaBackend({ dataDir: broker.dataDir }) });
    agenda.define('weekly-digest', async () => {});
    await agenda.schedule('in 1 hour', 'weekly-digest', { to: 'ops' });
    await agenda.stop();

    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    context.setDefaultTimeout(5000);
    page = await context.newPage();
    errors = watchErrors(page);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.stop();
  });

  it('overview: stats, doors and live throughput charts drawn by uPlot', async () => {
    await page.goto(broker.http.url + '/');
    await page.waitForSelector('[data-stat="version"]');
    expect(await page.textContent('[data-stat="topics"] .value')).toBe('2');
    expect(await page.textContent('#doors')).toContain('kafka');
    // Appends while the page watches, so the records/s series has something to draw.
    await api('POST', '/api/kafka/topics/payments/records', { records: [{ value: 'a' }, { value: 'b' }] });
    await page.waitForSelector('#chart-kafka canvas');
    await page.waitForTimeout(2200);
    const box = await page.locator('#chart-kafka canvas').boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    expect(box!.height).toBeGreaterThan(100);
    expect(await page.locator('#chart-jobs canvas').count()).toBe(1);
    await shot(page, 'overview-1280-light');
    const dcl = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return nav.domContentLoadedEventEnd - nav.startTime;
    });
    console.log(`overview DOMContentLoaded: ${dcl.toFixed(0)} ms`);
    expect(errors).toEqual([]);
  });

  it('theme toggle switches to dark and persists across a reload', async () => {
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.reload();
    await page.waitForSelector('#chart-kafka canvas');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.waitForTimeout(1200);
    await shot(page, 'overview-1280-dark');
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
  });

  it('topics: filters, creates a topic, deletes one after confirmation, shows a topic with partitions and configs', async () => {
    await page.goto(broker.http.url + '/#/kafka/topics');
    await page.waitForSelector('#topics-table tbody tr');
    await page.fill('#create-topic input[name=name]', 'audit-log');
    await page.fill('#create-topic input[name=partitions]', '2');
    await page.fill('#create-topic input[name=configs]', 'cleanup.policy=delete');
    await page.click('#create-topic button[type=submit]');
    await page.waitForSelector('#topics-table a:text-is("audit-log")');
    expect((await api<Json>('GET', '/api/kafka/topics/audit-log')).body.partitions).toHaveLength(2);

    await page.fill('#topics-table input[type=search]', 'pay');
    expect(await page.locator('#topics-table tbody tr').count()).toBe(1);
    await page.fill('#topics-table input[type=search]', '');
    await shot(page, 'topics-1280-light');

    // Cancel keeps the topic; confirm deletes it.
    await page.click('[data-action="delete-topic-audit-log"]');
    await page.waitForSelector('#confirm[open]');
    await shot(page, 'confirm-dialog-1280-light');
    await page.click('#confirm-cancel');
    expect((await api('GET', '/api/kafka/topics/audit-log')).status).toBe(200);
    await page.click('[data-action="delete-topic-audit-log"]');
    await page.click('#confirm-ok');
    await page.waitForSelector('#topics-table a:text-is("audit-log")', { state: 'detached' });
    expect((await api('GET', '/api/kafka/topics/audit-log')).status).toBe(404);

    await page.click('#topics-table a:text-is("orders")');
    await page.waitForSelector('#partitions-table tbody tr');
    expect(await page.locator('#partitions-table tbody tr').count()).toBe(3);
    expect(await page.textContent('#configs-table')).toContain('retention.ms');
    await page.fill('#set-config input[name=config]', 'retention.ms');
    await page.fill('#set-config input[name=value]', '7200000');
    await page.click('#set-config button[type=submit]');
    await page.waitForSelector('[data-action="reset-config-retention.ms"]');
    expect((await api<Json>('GET', '/api/kafka/topics/orders')).body.configs).toEqual({ 'retention.ms': '7200000' });
    await page.click('[data-action="reset-config-retention.ms"]');
    await page.waitForSelector('[data-action="reset-config-retention.ms"]', { state: 'detached' });
    expect((await api<Json>('GET', '/api/kafka/topics/orders')).body.configs).toEqual({});
    await page.click('[data-action="load-records"]');
    await page.waitForSelector('text=/"order":/');
    await shot(page, 'topic-detail-1280-light');
    expect(errors).toEqual([]);
  });

  it('consumer groups: lag per partition, reset to latest after confirmation', async () => {
    await page.goto(broker.http.url + '/#/kafka/groups');
    await page.click('#groups-table a:text-is("billing")');
    await page.waitForSelector('#offsets-table tbody tr');
    expect(await page.textContent('[data-stat="lag"] .value')).toBe('30');
    await page.selectOption('#reset-offsets select[name=to]', 'latest');
    await page.click('[data-action="reset-offsets"]');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => document.querySelector('[data-stat="lag"] .value')?.textContent === '0');
    const group = (await api<Json>('GET', '/api/kafka/groups/billing')).body;
    expect(group.lag).toBe(0);
    await shot(page, 'group-detail-1280-light');
  });

  it('jobs: queue counts, failed job detail with stack trace, retry', async () => {
    await page.goto(broker.http.url + '/#/jobs');
    await page.waitForSelector('#queues-table a:text-is("mail")');
    await shot(page, 'queues-1280-light');
    await page.click('#queues-table a:text-is("mail")');
    await page.click('.tabs a[data-state="failed"]');
    await page.waitForSelector('#jobs-table a');
    await page.click('#jobs-table tbody a');
    await page.waitForSelector('.stacktrace');
    expect(await page.textContent('.stacktrace')).toContain('smtp down');
    expect(await page.textContent('#job-logs')).toContain('sending to b@example.com');
    await shot(page, 'job-detail-1280-light');
    await page.click('[data-action^="retry-"]');
    await page.waitForFunction(() => document.querySelector('[data-stat="state"] .value')?.textContent !== 'failed');
    const mail = (await api<Json>('GET', '/api/jobs/queues/mail')).body;
    expect(mail.counts.failed).toBe(0);
    expect(errors).toEqual([]);
  });

  it('jobs: promote a delayed job, clean completed jobs after confirmation, pause and resume the queue', async () => {
    await page.goto(broker.http.url + '/#/jobs/mail?state=delayed');
    await page.waitForSelector('#jobs-table tbody a');
    await page.click('[data-action^="promote-"]');
    await page.waitForSelector('#jobs-table .empty');
    expect((await api<Json>('GET', '/api/jobs/queues/mail')).body.counts.delayed).toBe(0);

    await page.goto(broker.http.url + '/#/jobs/mail?state=completed');
    await page.waitForSelector('#jobs-table tbody a');
    await page.click('[data-action="clean"]');
    await page.click('#confirm-ok');
    await page.waitForSelector('#jobs-table .empty');
    expect((await api<Json>('GET', '/api/jobs/queues/mail')).body.counts.completed).toBe(0);

    await page.click('[data-action="pause-mail"]');
    await page.waitForSelector('[data-action="resume-mail"]');
    expect((await api<Json>('GET', '/api/jobs/queues/mail')).body.paused).toBe(true);
    await page.click('[data-action="resume-mail"]');
    await page.waitForSelector('[data-action="pause-mail"]');
    expect((await api<Json>('GET', '/api/jobs/queues/mail')).body.paused).toBe(false);
  });

  it('schedules: disable and enable a broker schedule', async () => {
    await page.goto(broker.http.url + '/#/schedules');
    await page.waitForSelector('#schedules-table td:text-is("yearly-report")');
    await page.click('[data-action="disable-yearly-report"]');
    await page.waitForSelector('[data-action="enable-yearly-report"]');
    expect((await api<Json>('GET', '/api/schedules/yearly-report')).body.enabled).toBe(false);
    await page.click('[data-action="enable-yearly-report"]');
    await page.waitForSelector('[data-action="disable-yearly-report"]');
    expect((await api<Json>('GET', '/api/schedules/yearly-report')).body.enabled).toBe(true);

    await page.waitForSelector('#agenda-table td:text-is("weekly-digest")');
    await page.click('[data-action^="agenda-disable-"]');
    await page.waitForSelector('[data-action^="agenda-enable-"]');
    expect((await api<Json>('GET', '/api/agenda/jobs?state=paused')).body.total).toBe(1);
    await page.click('[data-action^="agenda-enable-"]');
    await page.waitForSelector('[data-action^="agenda-disable-"]');
    expect((await api<Json>('GET', '/api/agenda/jobs?state=paused')).body.total).toBe(0);
    await shot(page, 'schedules-1280-light');
  });

  it('AMQP: queues table with purge and delete after confirmation, queue detail with publish and get, connections with close', async () => {
    const conn = await amqplib.connect(broker.amqp.url);
    const closed = new Promise<void>((resolve) => conn.on('close', () => resolve()));
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('tasks', { durable: true });
    await ch.assertQueue('scratch', { durable: false });
    await ch.assertExchange('events', 'topic', { durable: true });
    await ch.bindQueue('tasks', 'events', 'task.#');
    for (let i = 0; i < 3; i++) ch.sendToQueue('tasks', Buffer.from(`task ${i}`), { persistent: true });
    await ch.waitForConfirms();

    await page.goto(broker.http.url + '/#/amqp');
    await page.waitForSelector('#amqp-queues td a:text-is("tasks")');
    expect(await page.inputValue('#amqp-vhost')).toBe('/');
    await page.fill('#amqp-queues input[type=search]', 'tas');
    expect(await page.locator('#amqp-queues tbody tr').count()).toBe(1);
    // The queues tab re-reads counts and rates every 5 s, keeping the filter.
    for (let i = 0; i < 2; i++) ch.sendToQueue('tasks', Buffer.from('more'), { persistent: true });
    await ch.waitForConfirms();
    await page.waitForSelector('#amqp-queues tbody td.num:text-is("5")', { timeout: 7000 });
    expect(await page.inputValue('#amqp-queues input[type=search]')).toBe('tas');
    expect(await page.locator('#amqp-queues tbody tr').count()).toBe(1);
    await shot(page, 'amqp-queues-1280-light');

    await page.click('[data-action="purge-tasks"]');
    await page.click('#confirm-ok');
    await page.waitForSelector('.toast:has-text("Purged 5 messages from tasks")');
    expect((await api<Json>('GET', '/api/amqp/queues/%2F/tasks')).body.ready).toBe(0);

    await page.waitForSelector('#amqp-queues td a:text-is("scratch")');
    await page.click('[data-action="delete-queue-scratch"]');
    await page.click('#confirm-cancel');
    expect((await api('GET', '/api/amqp/queues/%2F/scratch')).status).toBe(200);
    await page.click('[data-action="delete-queue-scratch"]');
    await page.click('#confirm-ok');
    await page.waitForSelector('.toast:has-text("Deleted scratch")');
    expect((await api('GET', '/api/amqp/queues/%2F/scratch')).status).toBe(404);

    await page.goto(broker.http.url + '/#/amqp/queues/%2F/tasks');
    await page.waitForSelector('#amqp-queue');
    await page.fill('#amqp-publish textarea', 'hello from the dashboard');
    await page.click('#amqp-publish button[type=submit]');
    await page.waitForSelector('[data-stat="messages"] .value:text-is("1")');
    await page.click('#amqp-get button[type=submit]');
    await page.waitForSelector('#amqp-got pre.payload');
    expect(await page.textContent('#amqp-got pre.payload')).toBe('hello from the dashboard');
    expect((await api<Json>('GET', '/api/amqp/queues/%2F/tasks')).body.ready).toBe(1);
    await shot(page, 'amqp-queue-1280-light');

    await page.goto(broker.http.url + '/#/amqp?vhost=%2F&tab=bindings');
    await page.waitForSelector('#amqp-bindings td:text-is("events")');
    await page.goto(broker.http.url + '/#/amqp?vhost=%2F&tab=exchanges');
    await page.waitForSelector('#amqp-exchanges td:text-is("amq.topic")');
    await page.goto(broker.http.url + '/#/amqp?vhost=%2F&tab=connections');
    await page.waitForSelector('#amqp-connections [data-action^="close-connection-"]');
    await shot(page, 'amqp-connections-1280-light');
    await page.click('[data-action^="close-connection-"]');
    await page.click('#confirm-ok');
    await closed;
    await page.waitForSelector('#amqp-connections td.empty');

    await page.goto(broker.http.url + '/#/amqp/queues/%2F/no-such-queue');
    await page.waitForSelector('.error-box');
    expect(await page.textContent('.error-box')).toContain('No queue no-such-queue');
  });

  it('schedules: run a broker schedule and an Agenda job now', async () => {
    const before = (await api<Json>('GET', '/api/kafka/topics/payments')).body.records;
    await page.goto(broker.http.url + '/#/schedules');
    await page.click('[data-action="run-yearly-report"]');
    await page.waitForSelector('.toast:has-text("Ran yearly-report")');
    expect((await api<Json>('GET', '/api/kafka/topics/payments')).body.records).toBe(before + 1);
    expect((await api<Json>('GET', '/api/schedules/yearly-report')).body).toMatchObject({ runs: 1, lastSlot: null });
    await page.click('[data-action^="agenda-run-"]');
    await page.waitForSelector('.toast:has-text("weekly-digest will run at the next poll")');
    const job = (await api<Json>('GET', '/api/agenda/jobs?name=weekly-digest')).body.jobs[0];
    expect(Date.parse(job.nextRunAt)).toBeLessThanOrEqual(Date.now());
    await shot(page, 'schedules-run-1280-light');
  });

  it('phone width: the nav collapses behind a menu button, tables scroll inside their card', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const phone = await browser.newContext({ viewport: { width: 375, height: 800 }, colorScheme: scheme, deviceScaleFactor: 1 });
      const p = await phone.newPage();
      await p.goto(broker.http.url + '/');
      await p.waitForSelector('#chart-kafka canvas');
      expect(await p.isVisible('#nav')).toBe(false);
      await shot(p, `overview-375-${scheme}`);
      await p.click('#nav-toggle');
      expect(await p.isVisible('#nav')).toBe(true);
      await shot(p, `nav-375-${scheme}`);
      await p.click('#nav a[href="#/jobs"]');
      expect(await p.isVisible('#nav')).toBe(false);
      await p.goto(broker.http.url + '/#/jobs/mail?state=wait');
      await p.waitForSelector('#jobs-table tbody tr');
      // The page itself never scrolls sideways; wide tables do, inside their wrapper.
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      await shot(p, `jobs-375-${scheme}`);
      await p.goto(broker.http.url + '/#/amqp');
      await p.waitForSelector('#amqp-queues td a:text-is("tasks")');
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      await shot(p, `amqp-375-${scheme}`);
      await p.goto(broker.http.url + '/#/amqp/queues/%2F/tasks');
      await p.waitForSelector('#amqp-queue');
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      await shot(p, `amqp-queue-375-${scheme}`);
      await phone.close();
    }
  });
});
