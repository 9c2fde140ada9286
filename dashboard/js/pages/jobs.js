import { del, enc, get, post } from '../api.js';
import { badge, button, card, confirmAction, dataTable, fmt, h, jsonBlock, kv, pageHead, progressBar, run, serverPager, stat, timeCell } from '../ui.js';

const STATES = ['wait', 'active', 'prioritized', 'delayed', 'completed', 'failed', 'waiting-children'];
const PAGE = 25;
const queueHref = (q, state, start) => `#/jobs/${enc(q)}${state ? `?state=${state}${start ? `&start=${start}` : ''}` : ''}`;
const jobHref = (q, id) => `#/jobs/${enc(q)}/${enc(id)}`;
const stateKind = { failed: 'danger', completed: 'ok', active: 'info', delayed: 'warn', prioritized: 'warn' };

function pauseButton(ctx, q, size = 'sm') {
  return q.paused
    ? button('Resume', async (b) => (await run(b, () => post(`/api/jobs/queues/${enc(q.name)}/resume`), `Resumed ${q.name}`)) && ctx.refresh(), { kind: 'primary', size, testId: `resume-${q.name}` })
    : button('Pause', async (b) => (await run(b, () => post(`/api/jobs/queues/${enc(q.name)}/pause`), `Paused ${q.name}`)) && ctx.refresh(), { size, testId: `pause-${q.name}` });
}

async function queuesPage(ctx) {
  const { queues } = await get('/api/jobs/queues');
  if (!ctx.live) return;
  ctx.main.replaceChildren(
    pageHead({ title: 'Job queues', subtitle: 'BullMQ queues stored in this data dir, whichever process added the jobs.' }),
    card(
      null,
      dataTable({
        id: 'queues-table',
        rows: queues,
        filterPlaceholder: 'Filter queues…',
        empty: 'No job queues yet. Queues appear when a BullMQ Queue on railyard/jobs adds a job.',
        columns: [
          { key: 'name', label: 'Queue', render: (q) => h('span', null, h('a', { href: queueHref(q.name) }, q.name), q.paused ? [' ', badge('paused', 'warn')] : null) },
          ...STATES.map((s) => ({
            key: s,
            label: s,
            num: true,
            value: (q) => q.counts[s] ?? 0,
            render: (q) => ((q.counts[s] ?? 0) > 0 ? h('a', { href: queueHref(q.name, s) }, fmt.num(q.counts[s])) : h('span', { class: 'muted' }, '0')),
          })),
          { key: 'actions', label: '', sortable: false, filter: false, render: (q) => h('div', { class: 'row-actions' }, pauseButton(ctx, q)) },
        ],
      }),
    ),
  );
}

function jobActions(ctx, queue, job, after) {
  const out = [];
  if (job.state === 'failed' || job.state === 'completed')
    out.push(button('Retry', async (b) => (await run(b, () => post(`/api/jobs/queues/${enc(queue)}/jobs/${enc(job.id)}/retry`, {}), `Job ${job.id} back to wait`)) && after(), { kind: 'primary', testId: `retry-${job.id}` }));
  if (job.state === 'delayed')
    out.push(button('Promote', async (b) => (await run(b, () => post(`/api/jobs/queues/${enc(queue)}/jobs/${enc(job.id)}/promote`), `Job ${job.id} promoted`)) && after(), { testId: `promote-${job.id}` }));
  out.push(
    button('Remove', async (b) => {
      const ok = await confirmAction({ title: `Remove job ${job.id}?`, message: `${job.name} (${job.state}) and its logs are deleted from ${queue}.`, confirmLabel: 'Remove job' });
      if (ok && (await run(b, () => del(`/api/jobs/queues/${enc(queue)}/jobs/${enc(job.id)}`), `Removed job ${job.id}`))) after(true);
    }, { kind: 'danger', testId: `remove-${job.id}` }),
  );
  return out;
}

async function queuePage(ctx) {
  const name = ctx.params.queue;
  const state = STATES.includes(ctx.query.get('state')) ? ctx.query.get('state') : null;
  const summary = await get(`/api/jobs/queues/${enc(name)}`);
  const shown = state ?? STATES.find((s) => (summary.counts[s] ?? 0) > 0) ?? 'wait';
  const start = Math.max(0, Number(ctx.query.get('start')) || 0);
  const page = await get(`/api/jobs/queues/${enc(name)}/jobs?state=${shown}&start=${start}&limit=${PAGE}&order=desc`);
  if (!ctx.live) return;

  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Job states' },
    STATES.map((s) => h('a', { href: queueHref(name, s), 'aria-current': s === shown ? 'page' : null, 'data-state': s }, s, h('span', { class: 'count badge' }, fmt.num(summary.counts[s] ?? 0)))),
  );
  requestAnimationFrame(() => tabs.querySelector('[aria-current="page"]')?.scrollIntoView({ block: 'nearest', inline: 'center' }));
  const clean = button(`Clean ${shown}`, async (b) => {
    const ok = await confirmAction({ title: `Clean ${shown} jobs of ${name}?`, message: `Removes every ${shown} job (${fmt.num(summary.counts[shown] ?? 0)}) from the queue.`, confirmLabel: `Clean ${shown}` });
    if (ok && (await run(b, () => post(`/api/jobs/queues/${enc(name)}/clean`, { state: shown, graceMs: 0, limit: 0 }), (r) => `Removed ${r.removed.length} jobs`))) ctx.refresh();
  }, { kind: 'danger', size: 'md', testId: 'clean' });
  clean.disabled = (summary.counts[shown] ?? 0) === 0;

  ctx.main.replaceChildren(
    pageHead({
      crumbs: h('a', { href: '#/jobs' }, 'Job queues'),
      title: name,
      subtitle: summary.paused ? 'Paused: workers take no new jobs.' : 'Running',
      actions: [pauseButton(ctx, summary, 'md'), clean],
    }),
    tabs,
    card(
      null,
      dataTable({
        id: 'jobs-table',
        rows: page.jobs,
        pageSize: PAGE,
        filter: false,
        empty: `No ${shown} jobs.`,
        columns: [
          { key: 'id', label: 'Id', render: (j) => h('a', { href: jobHref(name, j.id) }, j.id) },
          { key: 'name', label: 'Name' },
          { key: 'timestamp', label: 'Added', render: (j) => timeCell(j.timestamp) },
          { key: 'attemptsMade', label: 'Attempts', num: true },
          { key: 'progress', label: 'Progress', sortable: false, render: (j) => progressBar(j.progress) },
          shown === 'failed' ? { key: 'failedReason', label: 'Failed reason', wrap: true } : shown === 'delayed' ? { key: 'delay', label: 'Runs', render: (j) => timeCell(j.timestamp + j.delay) } : { key: 'finishedOn', label: 'Finished', render: (j) => timeCell(j.finishedOn) },
          { key: 'actions', label: '', sortable: false, render: (j) => h('div', { class: 'row-actions' }, jobActions(ctx, name, j, () => ctx.refresh())) },
        ],
      }),
      serverPager({ start, limit: PAGE, total: page.total, go: (s) => ctx.go(queueHref(name, shown, s)) }),
    ),
  );
}

async function jobPage(ctx) {
  const { queue, id } = ctx.params;
  const j = await get(`/api/jobs/queues/${enc(queue)}/jobs/${enc(id)}`);
  if (!ctx.live) return;
  ctx.main.replaceChildren(
    pageHead({
      crumbs: [h('a', { href: '#/jobs' }, 'Job queues'), ' / ', h('a', { href: queueHref(queue, j.state) }, queue)],
      title: `${j.name} #${j.id}`,
      subtitle: null,
      actions: jobActions(ctx, queue, j, (removed) => (removed ? ctx.go(queueHref(queue, j.state)) : ctx.refresh())),
    }),
    h('div', { class: 'stats' }, stat('State', j.state, null, 'state'), stat('Attempts', `${j.attemptsMade}`, `${j.attemptsStarted ?? 0} started`), stat('Priority', String(j.priority ?? 0)), stat('Delay', j.delay ? fmt.duration(j.delay) : '—')),
    h(
      'div',
      { class: 'grid' },
      card(
        'Status',
        kv([
          ['State', badge(j.state, stateKind[j.state])],
          ['Progress', progressBar(j.progress)],
          ['Added', timeCell(j.timestamp)],
          ['Processed', timeCell(j.processedOn)],
          ['Finished', timeCell(j.finishedOn)],
          j.failedReason ? ['Failed reason', h('span', { class: 'mono' }, j.failedReason)] : null,
        ]),
      ),
      card('Data', jsonBlock(j.data)),
      card('Options', jsonBlock(j.opts)),
      j.state === 'completed' || (j.returnvalue !== null && j.returnvalue !== undefined) ? card('Return value', jsonBlock(j.returnvalue ?? null)) : null,
    ),
    j.stacktrace && j.stacktrace.length ? card('Stack traces', ...j.stacktrace.map((s) => h('pre', { class: 'stacktrace', style: { marginBottom: 'var(--s2)' } }, s))) : null,
    card('Logs', j.logs && j.logs.length ? h('pre', { id: 'job-logs' }, j.logs.join('\n')) : h('p', { class: 'muted' }, 'No log lines.')),
  );
}

export default function register(app) {
  app.nav({ section: 'Jobs & schedules', label: 'Job queues', href: '#/jobs' });
  app.route('/jobs', queuesPage);
  app.route('/jobs/:queue', queuePage);
  app.route('/jobs/:queue/:id', jobPage);
}
