import { ApiError, del, enc, get, post } from '../api.js';
import { badge, button, card, confirmAction, dataTable, fmt, h, pageHead, run, timeCell, toast } from '../ui.js';

function target(t) {
  if (!t || typeof t !== 'object') return '—';
  const where = t.topic ?? t.exchange ?? t.queue ?? t.name ?? '';
  return h('span', null, badge(t.type ?? '?', 'info'), ' ', h('span', { class: 'mono' }, String(where)));
}

async function brokerSchedules(ctx) {
  let schedules;
  try {
    ({ schedules } = await get('/api/schedules'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return card('Broker schedules', h('p', { class: 'muted' }, 'This broker runs no schedules of its own.'));
    throw err;
  }
  const toggle = (s) =>
    s.enabled
      ? button('Disable', async (b) => (await run(b, () => post(`/api/schedules/${enc(s.name)}/disable`), `Disabled ${s.name}`)) && ctx.refresh(), { testId: `disable-${s.name}` })
      : button('Enable', async (b) => (await run(b, () => post(`/api/schedules/${enc(s.name)}/enable`), `Enabled ${s.name}`)) && ctx.refresh(), { kind: 'primary', testId: `enable-${s.name}` });
  const runNow = (s) =>
    button('Run', async (b) => {
      const r = await run(b, () => post(`/api/schedules/${enc(s.name)}/run`));
      if (!r) return;
      toast(r.run.ok ? `Ran ${s.name}` : `${s.name} failed: ${r.run.error}`, r.run.ok ? undefined : 'error');
      ctx.refresh();
    }, { testId: `run-${s.name}`, title: 'Emit once now; the regular slots are not moved' });
  const remove = (s) =>
    button('Delete', async (b) => {
      const ok = await confirmAction({ title: `Delete schedule ${s.name}?`, message: `It stops emitting to its ${s.target?.type ?? ''} target. This cannot be undone.`, confirmLabel: 'Delete schedule' });
      if (ok && (await run(b, () => del(`/api/schedules/${enc(s.name)}`), `Deleted ${s.name}`)) !== undefined) ctx.refresh();
    }, { kind: 'danger', testId: `delete-schedule-${s.name}` });
  return card(
    'Broker schedules',
    dataTable({
      id: 'schedules-table',
      rows: schedules,
      filterPlaceholder: 'Filter schedules…',
      empty: 'No schedules. Add one with `railyard schedules add` or PUT /api/schedules/NAME.',
      columns: [
        { key: 'name', label: 'Name' },
        { key: 'expression', label: 'When', render: (s) => h('span', null, h('span', { class: 'mono' }, s.expression), s.timezone ? h('span', { class: 'muted small' }, ` ${s.timezone}`) : null) },
        { key: 'target', label: 'Target', value: (s) => `${s.target?.type} ${s.target?.topic ?? s.target?.exchange ?? s.target?.queue ?? ''}`, render: (s) => target(s.target) },
        { key: 'enabled', label: 'State', value: (s) => (s.enabled ? 'enabled' : 'disabled'), render: (s) => (s.enabled ? badge('enabled', 'ok') : badge('disabled')) },
        { key: 'nextRunAt', label: 'Next run', render: (s) => timeCell(s.nextRunAt) },
        { key: 'lastSlot', label: 'Last run', render: (s) => timeCell(s.lastSlot) },
        { key: 'runs', label: 'Runs', num: true },
        { key: 'lastError', label: 'Last error', render: (s) => (s.lastError ? h('span', { class: 'badge danger clip', title: s.lastError }, s.lastError) : h('span', { class: 'muted' }, '—')) },
        { key: 'actions', label: '', sortable: false, filter: false, render: (s) => h('div', { class: 'row-actions' }, runNow(s), toggle(s), remove(s)) },
      ],
    }),
  );
}

const AGENDA_STATES = ['', 'running', 'scheduled', 'queued', 'completed', 'failed', 'repeating', 'paused'];

async function agendaJobs(ctx) {
  const state = AGENDA_STATES.includes(ctx.query.get('agenda')) ? ctx.query.get('agenda') : '';
  const [overview, page] = await Promise.all([get('/api/agenda/overview'), get(`/api/agenda/jobs?limit=200${state ? `&state=${state}` : ''}`)]);
  const select = h('select', { 'aria-label': 'Agenda job state', onchange: (e) => ctx.go(e.target.value ? `#/schedules?agenda=${e.target.value}` : '#/schedules') }, AGENDA_STATES.map((s) => h('option', { value: s, selected: s === state }, s || 'All states')));
  const toggle = (j) =>
    j.disabled
      ? button('Enable', async (b) => (await run(b, () => post(`/api/agenda/jobs/${enc(j.id)}/enable`), `Enabled ${j.name}`)) && ctx.refresh(), { kind: 'primary', testId: `agenda-enable-${j.id}` })
      : button('Disable', async (b) => (await run(b, () => post(`/api/agenda/jobs/${enc(j.id)}/disable`), `Disabled ${j.name}`)) && ctx.refresh(), { testId: `agenda-disable-${j.id}` });
  const runJob = (j) =>
    j.disabled || j.state === 'running'
      ? null
      : button('Run', async (b) => (await run(b, () => post(`/api/agenda/jobs/${enc(j.id)}/run`), `${j.name} will run at the next poll`)) && ctx.refresh(), { testId: `agenda-run-${j.id}`, title: 'Set the next run to now' });
  return card(
    'Agenda jobs',
    overview.names.length
      ? dataTable({
          rows: overview.names,
          filter: false,
          columns: [
            { key: 'name', label: 'Job name' },
            ...['total', 'running', 'scheduled', 'queued', 'completed', 'failed', 'repeating', 'paused'].map((k) => ({ key: k, label: k, num: true })),
          ],
        })
      : h('p', { class: 'muted' }, 'No Agenda jobs in this data dir. Agenda on railyard/agenda stores them here.'),
    overview.names.length
      ? [
          h('h3', { style: { marginTop: 'var(--s4)' } }, 'Jobs'),
          h('div', { class: 'toolbar' }, select, h('span', { class: 'muted small' }, page.total > page.jobs.length ? `first ${page.jobs.length} of ${fmt.num(page.total)}` : '')),
          dataTable({
            id: 'agenda-table',
            rows: page.jobs,
            filterPlaceholder: 'Filter jobs…',
            columns: [
              { key: 'name', label: 'Name' },
              { key: 'state', label: 'State', render: (j) => badge(j.state, j.state === 'failed' ? 'danger' : j.state === 'completed' ? 'ok' : j.state === 'paused' ? '' : 'info') },
              { key: 'repeatInterval', label: 'Repeat' },
              { key: 'nextRunAt', label: 'Next run', render: (j) => timeCell(j.nextRunAt) },
              { key: 'lastRunAt', label: 'Last run', render: (j) => timeCell(j.lastRunAt) },
              { key: 'failCount', label: 'Failures', num: true },
              { key: 'failReason', label: 'Fail reason', wrap: true },
              { key: 'actions', label: '', sortable: false, filter: false, render: (j) => h('div', { class: 'row-actions' }, runJob(j), toggle(j)) },
            ],
          }),
        ]
      : null,
  );
}

async function schedulesPage(ctx) {
  const [broker, agenda] = await Promise.all([brokerSchedules(ctx), agendaJobs(ctx)]);
  if (!ctx.live) return;
  ctx.main.replaceChildren(pageHead({ title: 'Schedules', subtitle: 'Cron schedules the broker runs, and Agenda jobs stored in its data dir.' }), broker, agenda);
}

export default function register(app) {
  app.nav({ section: 'Jobs & schedules', label: 'Schedules', href: '#/schedules' });
  app.route('/schedules', schedulesPage);
}
