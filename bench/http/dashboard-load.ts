// Dashboard overview load with 1,000 topics, 1,000 AMQP queues and 1,000 job queues, and /metrics
// render time with 10,000 partitions. Needs Debian's chromium (RAILYARD_CHROMIUM overrides the path).
//   npx tsx bench/http/dashboard-load.ts
import amqp from 'amqplib';
import { Queue } from 'bullmq';
import { chromium } from 'playwright-core';
import { startBroker } from '../../src/index.js';
import { createRailyardBackend } from '../../src/jobs.js';

const N = 1000;
const broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent' });
const post = (path: string, body: unknown) =>
  fetch(broker.http.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
try {
  for (let i = 0; i < N; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => post('/api/kafka/topics', { name: `topic-${i + j}`, partitions: 10 })));
  }
  const conn = await amqp.connect(broker.amqp.url.replace('amqp://', 'amqp://guest:guest@'));
  const ch = await conn.createChannel();
  for (let i = 0; i < N; i++) await ch.assertQueue(`queue-${i}`);
  await conn.close();
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, j) => {
        const q = new Queue(`jobs-${i + j}`, { connection: { dataDir: broker.dataDir } } as never, createRailyardBackend);
        await q.add('x', { n: i + j });
        await q.close();
      }),
    );
  }

  const browser = await chromium.launch({
    executablePath: process.env.RAILYARD_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const loads: number[] = [];
  for (let i = 0; i < 6; i++) {
    await page.goto(broker.http.url + '/');
    await page.waitForSelector('[data-stat="topics"]');
    loads.push(await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return nav.domContentLoadedEventEnd - nav.startTime;
    }));
  }
  await browser.close();
  const metrics: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await (await fetch(broker.http.url + '/metrics')).text();
    metrics.push(performance.now() - t0);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`overview DOMContentLoaded with ${N} topics (${N * 10} partitions), ${N} AMQP queues, ${N} job queues: first ${loads[0]!.toFixed(0)} ms, median of the next 5 ${median(loads.slice(1)).toFixed(0)} ms`);
  console.log(`/metrics with ${N * 10} partitions: median ${median(metrics).toFixed(1)} ms of 5`);
} finally {
  await broker.stop();
}
