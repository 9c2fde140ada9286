import { api, del, enc, get, post } from '../api.js';
import { badge, button, card, confirmAction, dataTable, fmt, h, pageHead, run, stat, timeCell } from '../ui.js';

const topicHref = (name) => `#/kafka/topics/${enc(name)}`;
const groupHref = (id) => `#/kafka/groups/${enc(id)}`;

async function deleteTopic(name, btn, after) {
  const ok = await confirmAction({
    title: `Delete topic ${name}?`,
    message: 'Its records and every consumer group offset for it are removed. This cannot be undone.',
    confirmLabel: 'Delete topic',
  });
  if (!ok) return;
  const done = await run(btn, () => del(`/api/kafka/topics/${enc(name)}`), `Deleted topic ${name}`);
  if (done) after();
}

function parseConfigs(text) {
  const configs = {};
  for (const line of text.split(/\n|,/)) {
    const t = line.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`config "${t}" is not key=value`);
    configs[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  return configs;
}

function createTopicForm(ctx) {
  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'orders', pattern: '[A-Za-z0-9._\\-]+' });
  const partitions = h('input', { type: 'number', name: 'partitions', min: 1, value: '1', style: { width: '96px' } });
  const configs = h('input', { type: 'text', name: 'configs', placeholder: 'retention.ms=86400000, cleanup.policy=compact' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create topic');
  const form = h(
    'form',
    { class: 'form', id: 'create-topic' },
    h('label', { class: 'field grow' }, h('span', null, 'Name'), name),
    h('label', { class: 'field' }, h('span', null, 'Partitions'), partitions),
    h('label', { class: 'field grow' }, h('span', null, 'Configs (key=value, comma separated)'), configs),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const created = await run(
      submit,
      () => post('/api/kafka/topics', { name: name.value.trim(), partitions: Number(partitions.value) || 1, configs: parseConfigs(configs.value) }),
      (t) => `Created topic ${t.name}`,
    );
    if (created) ctx.refresh();
  });
  return card('New topic', form);
}

async function topicsPage(ctx) {
  const { topics } = await get('/api/kafka/topics');
  if (!ctx.live) return;
  const table = dataTable({
    id: 'topics-table',
    rows: topics,
    filterPlaceholder: 'Filter topics…',
    empty: 'No topics yet. Create one above, or produce to one with auto-creation on.',
    columns: [
      { key: 'name', label: 'Topic', render: (t) => h('a', { href: topicHref(t.name) }, t.name) },
      { key: 'partitions', label: 'Partitions', num: true, value: (t) => t.partitions.length },
      { key: 'records', label: 'Records', num: true },
      { key: 'sizeBytes', label: 'Size', num: true, render: (t) => fmt.bytes(t.sizeBytes) },
      { key: 'overrides', label: 'Overrides', num: true, value: (t) => Object.keys(t.configs).length },
      { key: 'createdAt', label: 'Created', render: (t) => timeCell(t.createdAt) },
      {
        key: 'actions',
        label: '',
        sortable: false,
        filter: false,
        render: (t) => h('div', { class: 'row-actions' }, button('Delete', (b) => deleteTopic(t.name, b, () => ctx.refresh()), { kind: 'danger', testId: `delete-topic-${t.name}` })),
      },
    ],
  });
  ctx.main.replaceChildren(pageHead({ title: 'Topics', subtitle: `${fmt.num(topics.length)} topics on the Kafka door` }), createTopicForm(ctx), card(null, table));
}

function recordsCard(name, partitions) {
  const partition = h('select', { 'aria-label': 'Partition' }, partitions.map((p) => h('option', { value: p.partition }, `Partition ${p.partition}`)));
  const offset = h('input', { type: 'number', placeholder: 'latest 50', min: 0, 'aria-label': 'From offset', style: { width: '140px' } });
  const out = h('div');
  const load = async (btn) => {
    const p = partitions.find((x) => String(x.partition) === partition.value);
    const from = offset.value === '' ? Math.max(p.logStartOffset, p.logEndOffset - 50) : Number(offset.value);
    const res = await run(btn, () => get(`/api/kafka/topics/${enc(name)}/partitions/${p.partition}/records?offset=${from}&limit=50`));
    if (!res) return;
    out.replaceChildren(
      dataTable({
        rows: res.records,
        pageSize: 50,
        empty: 'No records in this range.',
        columns: [
          { key: 'offset', label: 'Offset', num: true },
          { key: 'timestamp', label: 'Timestamp', render: (r) => fmt.time(r.timestamp) },
          { key: 'key', label: 'Key', render: (r) => (r.key === null ? h('span', { class: 'muted' }, 'null') : h('span', { class: 'mono' }, r.key)) },
          { key: 'value', label: 'Value', wrap: true, render: (r) => (r.value === null ? h('span', { class: 'muted' }, 'null') : h('span', { class: 'mono' }, r.value.length > 300 ? r.value.slice(0, 300) + '…' : r.value)) },
        ],
      }),
    );
  };
  const key = h('input', { type: 'text', placeholder: 'key (optional)', 'aria-label': 'Key' });
  const value = h('input', { type: 'text', placeholder: 'value', 'aria-label': 'Value' });
  const produce = h('form', { class: 'form', id: 'produce' }, h('label', { class: 'field grow' }, h('span', null, 'Key'), key), h('label', { class: 'field grow' }, h('span', null, 'Value'), value), h('button', { type: 'submit', class: 'btn' }, 'Produce'));
  produce.addEventListener('submit', async (e) => {
    e.preventDefault();
    const record = { value: value.value, partition: Number(partition.value) };
    if (key.value) record.key = key.value;
    const res = await run(e.submitter, () => post(`/api/kafka/topics/${enc(name)}/records`, { records: [record] }), (r) => `Appended at offset ${r.partitions[0].baseOffset}`);
    if (res) {
      value.value = '';
      load();
    }
  });
  return card(
    'Records',
    h('div', { class: 'toolbar' }, partition, offset, button('Load', load, { size: 'md', testId: 'load-records' })),
    out,
    h('h3', { style: { marginTop: 'var(--s4)' } }, 'Produce a test record'),
    produce,
  );
}

async function topicPage(ctx) {
  const name = ctx.params.name;
  const t = await get(`/api/kafka/topics/${enc(name)}`);
  if (!ctx.live) return;
  const count = h('input', { type: 'number', min: t.partitions.length + 1, value: String(t.partitions.length + 1), style: { width: '96px' }, 'aria-label': 'New partition count' });
  ctx.main.replaceChildren(
    pageHead({
      crumbs: h('a', { href: '#/kafka/topics' }, 'Topics'),
      title: t.name,
      subtitle: `id ${t.id}`,
      actions: [button('Delete topic', (b) => deleteTopic(t.name, b, () => ctx.go('#/kafka/topics')), { kind: 'danger', size: 'md', testId: 'delete-topic' })],
    }),
    h('div', { class: 'stats' }, stat('Partitions', fmt.num(t.partitions.length)), stat('Records', fmt.num(t.records)), stat('Size', fmt.bytes(t.sizeBytes)), stat('Created', fmt.relative(t.createdAt), fmt.time(t.createdAt))),
    card(
      'Partitions',
      dataTable({
        id: 'partitions-table',
        rows: t.partitions,
        filter: false,
        columns: [
          { key: 'partition', label: 'Partition' },
          { key: 'logStartOffset', label: 'Log start', num: true },
          { key: 'logEndOffset', label: 'Log end', num: true },
          { key: 'records', label: 'Records', num: true, value: (p) => p.logEndOffset - p.logStartOffset },
          { key: 'sizeBytes', label: 'Size', num: true, render: (p) => fmt.bytes(p.sizeBytes) },
        ],
      }),
      h(
        'form',
        {
          class: 'form',
          onsubmit: async (e) => {
            e.preventDefault();
            if (await run(e.submitter, () => post(`/api/kafka/topics/${enc(name)}/partitions`, { count: Number(count.value) }), 'Partitions added')) ctx.refresh();
          },
        },
        h('label', { class: 'field' }, h('span', null, 'Total partitions'), count),
        h('button', { type: 'submit', class: 'btn' }, 'Add partitions'),
      ),
    ),
    recordsCard(name, t.partitions),
    configsCard(ctx, name, t.effectiveConfigs),
  );
}

function configsCard(ctx, name, configs) {
  const patch = (body) => api('PATCH', `/api/kafka/topics/${enc(name)}/configs`, body);
  const key = h('input', { type: 'text', name: 'config', list: 'config-names', placeholder: 'retention.ms', 'aria-label': 'Config' });
  const value = h('input', { type: 'text', name: 'value', placeholder: 'value', 'aria-label': 'Value' });
  const names = h('datalist', { id: 'config-names' }, configs.filter((c) => !c.readOnly).map((c) => h('option', { value: c.name })));
  const form = h(
    'form',
    { class: 'form', id: 'set-config' },
    h('label', { class: 'field grow' }, h('span', null, 'Config'), key),
    h('label', { class: 'field grow' }, h('span', null, 'Value'), value),
    h('button', { type: 'submit', class: 'btn' }, 'Set override'),
    names,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const k = key.value.trim();
    if (await run(e.submitter, () => patch({ configs: { [k]: value.value } }), `Set ${k}`)) ctx.refresh();
  });
  const reset = (c) =>
    c.isDefault || c.readOnly
      ? null
      : button('Use default', async (b) => (await run(b, () => patch({ configs: { [c.name]: null } }), `${c.name} back to its default`)) && ctx.refresh(), { testId: `reset-config-${c.name}` });
  return card(
    'Configs',
    form,
    h('div', { style: { height: 'var(--s4)' } }),
    dataTable({
        id: 'configs-table',
        rows: configs,
        pageSize: 100,
        filterPlaceholder: 'Filter configs…',
        initialSort: { key: 'isDefault', dir: 1 },
        columns: [
          { key: 'name', label: 'Config', render: (c) => h('span', { class: 'mono' }, c.name) },
          { key: 'value', label: 'Value', wrap: true, render: (c) => h('span', { class: 'mono' }, c.sensitive ? '••••' : c.value ?? 'null') },
          { key: 'isDefault', label: 'Source', value: (c) => (c.isDefault ? 1 : 0), render: (c) => (c.isDefault ? badge('default') : badge(c.source, 'info')) },
          { key: 'actions', label: '', sortable: false, filter: false, render: (c) => h('div', { class: 'row-actions' }, reset(c)) },
        ],
      }),
  );
}

async function groupsPage(ctx) {
  const { groups } = await get('/api/kafka/groups');
  if (!ctx.live) return;
  ctx.main.replaceChildren(
    pageHead({ title: 'Consumer groups', subtitle: `${fmt.num(groups.length)} groups` }),
    card(
      null,
      dataTable({
        id: 'groups-table',
        rows: groups,
        filterPlaceholder: 'Filter groups…',
        empty: 'No consumer groups yet.',
        columns: [
          { key: 'groupId', label: 'Group', render: (g) => h('a', { href: groupHref(g.groupId) }, g.groupId) },
          { key: 'state', label: 'State', render: (g) => stateBadge(g.state) },
          { key: 'protocolType', label: 'Protocol type' },
          { key: 'members', label: 'Members', num: true },
          { key: 'lag', label: 'Lag', num: true },
        ],
      }),
    ),
  );
}

function stateBadge(state) {
  const kind = state === 'Stable' ? 'ok' : state === 'Dead' ? 'danger' : state === 'Empty' ? '' : 'warn';
  return badge(state, kind);
}

function resetForm(ctx, g) {
  const to = h('select', { name: 'to', 'aria-label': 'Reset to' }, h('option', { value: 'earliest' }, 'Earliest'), h('option', { value: 'latest' }, 'Latest'), h('option', { value: 'datetime' }, 'Date and time'));
  const dt = h('input', { type: 'datetime-local', name: 'datetime', step: 1, 'aria-label': 'Date and time', disabled: true });
  const topics = [...new Set(g.offsets.map((o) => o.topic))];
  const topicSel = h('select', { name: 'topic', 'aria-label': 'Topic' }, h('option', { value: '' }, 'All topics'), topics.map((t) => h('option', { value: t }, t)));
  const preview = h('div');
  to.addEventListener('change', () => (dt.disabled = to.value !== 'datetime'));
  const body = (dryRun) => {
    const b = { to: to.value, dryRun };
    if (to.value === 'datetime') b.datetime = dt.value ? new Date(dt.value).toISOString() : '';
    if (topicSel.value) b.topics = [topicSel.value];
    return b;
  };
  const showPlan = (res) =>
    preview.replaceChildren(
      h('h3', { style: { marginTop: 'var(--s4)' } }, res.dryRun ? 'Preview (nothing changed yet)' : 'New offsets'),
      dataTable({ rows: res.offsets, filter: false, columns: [{ key: 'topic', label: 'Topic' }, { key: 'partition', label: 'Partition', num: true }, { key: 'offset', label: 'New offset', num: true }] }),
    );
  const active = g.members.length > 0;
  const form = h(
    'form',
    { class: 'form', id: 'reset-offsets' },
    h('label', { class: 'field' }, h('span', null, 'Reset to'), to),
    h('label', { class: 'field' }, h('span', null, 'Date and time'), dt),
    h('label', { class: 'field' }, h('span', null, 'Topic'), topicSel),
    button('Preview', async (b) => {
      const res = await run(b, () => post(`/api/kafka/groups/${enc(g.groupId)}/reset-offsets`, body(true)));
      if (res) showPlan(res);
    }, { size: 'md', testId: 'preview-reset' }),
    button('Reset offsets', async (b) => {
      const scope = topicSel.value ? `topic ${topicSel.value}` : 'every topic it has offsets for';
      const ok = await confirmAction({ title: `Reset offsets of ${g.groupId}?`, message: `Moves the group's committed offsets on ${scope} to ${to.value === 'datetime' ? dt.value || 'the given time' : 'the ' + to.value + ' offset'}. Consumers resume from there.`, confirmLabel: 'Reset offsets' });
      if (!ok) return;
      const res = await run(b, () => post(`/api/kafka/groups/${enc(g.groupId)}/reset-offsets`, body(false)), 'Offsets reset');
      if (res) ctx.refresh();
    }, { kind: 'danger', size: 'md', testId: 'reset-offsets' }),
  );
  return card('Reset offsets', active ? h('p', { class: 'muted' }, 'The group has active members; Kafka only resets offsets of an empty group. Stop its consumers first.') : null, form, preview);
}

async function groupPage(ctx) {
  const g = await get(`/api/kafka/groups/${enc(ctx.params.id)}`);
  if (!ctx.live) return;
  ctx.main.replaceChildren(
    pageHead({ crumbs: h('a', { href: '#/kafka/groups' }, 'Consumer groups'), title: g.groupId, subtitle: g.protocolType ? `${g.protocolType} · ${g.protocol || 'no protocol'}` : null }),
    h('div', { class: 'stats' }, stat('State', g.state), stat('Members', fmt.num(g.members.length)), stat('Total lag', fmt.num(g.lag), null, 'lag'), stat('Generation', String(g.generationId))),
    card(
      'Offsets and lag',
      dataTable({
        id: 'offsets-table',
        rows: g.offsets,
        filterPlaceholder: 'Filter partitions…',
        empty: 'No committed offsets.',
        columns: [
          { key: 'topic', label: 'Topic', render: (o) => h('a', { href: topicHref(o.topic) }, o.topic) },
          { key: 'partition', label: 'Partition' },
          { key: 'committedOffset', label: 'Committed', num: true },
          { key: 'logEndOffset', label: 'Log end', num: true },
          { key: 'lag', label: 'Lag', num: true, render: (o) => (o.lag > 0 ? badge(fmt.num(o.lag), 'warn') : fmt.num(o.lag)) },
          { key: 'commitTimestamp', label: 'Committed at', render: (o) => timeCell(o.commitTimestamp) },
        ],
      }),
    ),
    card(
      'Members',
      dataTable({
        rows: g.members,
        filter: false,
        empty: 'No active members.',
        columns: [
          { key: 'memberId', label: 'Member' },
          { key: 'clientId', label: 'Client' },
          { key: 'clientHost', label: 'Host' },
          { key: 'assignment', label: 'Assignment', wrap: true, value: (m) => m.assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' ') },
        ],
      }),
    ),
    resetForm(ctx, g),
  );
}

export default function register(app) {
  app.nav({ section: 'Kafka', label: 'Topics', href: '#/kafka/topics' });
  app.nav({ section: 'Kafka', label: 'Consumer groups', href: '#/kafka/groups' });
  app.route('/kafka/topics', topicsPage);
  app.route('/kafka/topics/:name', topicPage);
  app.route('/kafka/groups', groupsPage);
  app.route('/kafka/groups/:id', groupPage);
}
