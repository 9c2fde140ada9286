import { get } from '../api.js';
import { liveChart } from '../chart.js';
import { card, fmt, h, pageHead, stat } from '../ui.js';

/** Rate of a counter between two samples; a counter that went down (topic deleted, jobs cleaned) counts as 0. */
function rate(prev, next, seconds) {
  if (prev === undefined || seconds <= 0) return null;
  return Math.max(0, (next - prev) / seconds);
}

// The overview carries the sums of all partitions' end offsets and sizes: one light call per second.
function kafkaTotals(ov) {
  return { records: ov.kafka.records, bytes: ov.kafka.sizeBytes };
}

function jobTotals(queues) {
  let completed = 0;
  let failed = 0;
  let waiting = 0;
  let active = 0;
  for (const q of queues) {
    completed += q.counts.completed ?? 0;
    failed += q.counts.failed ?? 0;
    waiting += (q.counts.wait ?? 0) + (q.counts.prioritized ?? 0) + (q.counts.delayed ?? 0);
    active += q.counts.active ?? 0;
  }
  return { completed, failed, waiting, active, queues: queues.length };
}

async function render(ctx) {
  const stats = h('div', { class: 'stats', id: 'overview-stats' });
  const doors = h('div');
  const kafkaChartBox = h('div', { class: 'chart', id: 'chart-kafka' });
  const jobsChartBox = h('div', { class: 'chart', id: 'chart-jobs' });
  ctx.main.replaceChildren(
    pageHead({ title: 'Overview', subtitle: 'One broker: Kafka, AMQP, jobs and schedules on one data dir.' }),
    stats,
    h(
      'div',
      { class: 'grid' },
      card('Kafka throughput', h('p', { class: 'muted small' }, 'Records and bytes appended per second, all topics.'), kafkaChartBox),
      card('Job throughput', h('p', { class: 'muted small' }, 'Jobs finished per second, all queues.'), jobsChartBox),
    ),
    card('Doors', doors),
  );

  let prev = null;
  const draw = (ov, queues) => {
    const jt = jobTotals(queues);
    stats.replaceChildren(
      stat('Version', ov.version, `up ${fmt.duration(ov.uptimeMs)}`, 'version'),
      stat('Data dir', fmt.bytes(ov.diskBytes), ov.dataDir, 'disk'),
      stat('Memory (RSS)', fmt.bytes(ov.memory.rss), `heap ${fmt.bytes(ov.memory.heapUsed)}`, 'memory'),
      stat('Topics', fmt.num(ov.kafka.topics), `${fmt.num(ov.kafka.partitions)} partitions`, 'topics'),
      stat('Consumer groups', fmt.num(ov.kafka.groups), null, 'groups'),
      stat('Job queues', fmt.num(jt.queues), `${fmt.num(jt.waiting)} waiting · ${fmt.num(jt.failed)} failed`, 'jobs'),
    );
    doors.replaceChildren(
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'doors' },
          h('thead', null, h('tr', null, h('th', null, 'Door'), h('th', { class: 'num' }, 'Port'), h('th', { class: 'num' }, 'Connections'))),
          h('tbody', null, Object.entries(ov.doors).map(([name, d]) => h('tr', null, h('td', null, name), h('td', { class: 'num' }, String(d.port)), h('td', { class: 'num' }, fmt.num(d.connections))))),
        ),
      ),
    );
  };

  const sample = async () => {
    const [ov, queues] = await Promise.all([get('/api/overview'), get('/api/jobs/queues').catch(() => ({ queues: [] }))]);
    if (!ctx.live) return null;
    draw(ov, queues.queues);
    const now = performance.now();
    const kt = kafkaTotals(ov);
    const jt = jobTotals(queues.queues);
    const s = prev ? (now - prev.at) / 1000 : 0;
    const out = prev
      ? { records: rate(prev.kt.records, kt.records, s), bytes: rate(prev.kt.bytes, kt.bytes, s), completed: rate(prev.jt.completed, jt.completed, s), failed: rate(prev.jt.failed, jt.failed, s) }
      : null;
    prev = { at: now, kt, jt };
    return out;
  };

  await sample();
  if (!ctx.live) return;
  const [kafkaChart, jobsChart] = await Promise.all([
    liveChart(kafkaChartBox, {
      series: [
        { label: 'records/s', color: '--chart-1' },
        { label: 'bytes/s', color: '--chart-2', scale: 'right' },
      ],
      rightFormat: (n) => fmt.bytes(Math.round(n)),
      rightMin: 1024,
      leftFormat: (n) => fmt.num(Math.round(n * 10) / 10),
    }),
    liveChart(jobsChartBox, {
      series: [
        { label: 'completed/s', color: '--chart-3' },
        { label: 'failed/s', color: '--chart-4' },
      ],
      leftFormat: (n) => fmt.num(Math.round(n * 10) / 10),
    }),
  ]);
  ctx.onCleanup(() => {
    kafkaChart.destroy();
    jobsChart.destroy();
  });
  if (!ctx.live) return ctx.dispose();
  ctx.every(1000, async () => {
    const r = await sample();
    if (!r) return;
    kafkaChart.push([r.records, r.bytes]);
    jobsChart.push([r.completed, r.failed]);
  });
}

export default function register(app) {
  app.nav({ label: 'Overview', href: '#/', match: '/' });
  app.route('/', render);
}
