import { del, enc, get, post } from '../api.js';
import { badge, button, card, confirmAction, dataTable, errorBox, fmt, h, jsonBlock, kv, pageHead, run, stat, toast } from '../ui.js';

const TABS = ['queues', 'exchanges', 'bindings', 'connections'];
const rate = (n) => (n ? n.toFixed(1) : '0');
const queueHref = (vhost, name) => `#/amqp/queues/${enc(vhost)}/${enc(name)}`;
const listHref = (vhost, tab) => `#/amqp?vhost=${enc(vhost)}${tab && tab !== 'queues' ? `&tab=${tab}` : ''}`;
const flags = (o) => [o.durable ? 'D' : null, o.autoDelete ? 'AD' : null, o.exclusive ? 'Excl' : null, o.internal ? 'I' : null].filter(Boolean).join(' ');
const args = (a) => (a && Object.keys(a).length ? h('span', { class: 'mono small clip', title: JSON.stringify(a) }, JSON.stringify(a)) : h('span', { class: 'muted' }, '—'));

/** Purge and delete ask first: both drop messages nobody can get back. */
function purgeButton(q, done) {
  return button('Purge', async (b) => {
    const ok = await confirmAction({ title: `Purge queue ${q.name}?`, message: `${fmt.num(q.ready)} ready messages are dropped. Unacknowledged ones stay with their consumers.`, confirmLabel: 'Purge queue' });
    if (ok && (await run(b, () => post(`/api/amqp/queues/${enc(q.vhost)}/${enc(q.name)}/purge`), (r) => `Purged ${fmt.num(r.purged)} messages from ${q.name}`)) !== undefined) done();
  }, { kind: 'danger', testId: `purge-${q.name}` });
}

function deleteButton(q, done) {
  return button('Delete', async (b) => {
    const ok = await confirmAction({ title: `Delete queue ${q.name}?`, message: `Its ${fmt.num(q.ready)} ready messages go with it and its ${fmt.num(q.consumers)} consumers are cancelled.`, confirmLabel: 'Delete queue' });
    if (ok && (await run(b, () => del(`/api/amqp/queues/${enc(q.vhost)}/${enc(q.name)}`), `Deleted ${q.name}`)) !== undefined) done();
  }, { kind: 'danger', testId: `delete-queue-${q.name}` });
}

function queuesTable(ctx, queues) {
  return dataTable({
    id: 'amqp-queues',
    rows: queues,
    filterPlaceholder: 'Filter queues…',
    empty: 'No queues on this virtual host.',
    initialSort: { key: 'name', dir: 1 },
    columns: [
      { key: 'name', label: 'Name', render: (q) => h('a', { href: queueHref(q.vhost, q.name) }, q.name) },
      { key: 'flags', label: 'Features', value: flags, render: (q) => h('span', { class: 'mono small', title: 'D durable, AD auto-delete, Excl exclusive' }, flags(q) || '—') },
      { key: 'ready', label: 'Ready', num: true },
      { key: 'unacked', label: 'Unacked', num: true },
      { key: 'consumers', label: 'Consumers', num: true },
      { key: 'bytes', label: 'Size', num: true, render: (q) => fmt.bytes(q.bytes) },
      { key: 'publish', label: 'In/s', num: true, value: (q) => q.rates.publish, render: (q) => rate(q.rates.publish) },
      { key: 'deliver', label: 'Out/s', num: true, value: (q) => q.rates.deliver, render: (q) => rate(q.rates.deliver) },
      { key: 'ack', label: 'Ack/s', num: true, value: (q) => q.rates.ack, render: (q) => rate(q.rates.ack) },
      { key: 'actions', label: '', sortable: false, filter: false, render: (q) => h('div', { class: 'row-actions' }, purgeButton(q, ctx.refresh), deleteButton(q, ctx.refresh)) },
    ],
  });
}

function exchangesTable(exchanges) {
  return dataTable({
    id: 'amqp-exchanges',
    rows: exchanges.map((x) => ({ ...x, label: x.name === '' ? '(AMQP default)' : x.name })),
    filterPlaceholder: 'Filter exchanges…',
    columns: [
      { key: 'label', label: 'Name' },
      { key: 'type', label: 'Type' },
      { key: 'flags', label: 'Features', value: flags },
      { key: 'arguments', label: 'Arguments', value: (x) => JSON.stringify(x.arguments), render: (x) => args(x.arguments) },
    ],
  });
}

function bindingsTable(bindings) {
  return dataTable({
    id: 'amqp-bindings',
    rows: bindings,
    filterPlaceholder: 'Filter bindings…',
    empty: 'No bindings.',
    columns: [
      { key: 'source', label: 'From exchange', value: (b) => b.source || '(AMQP default)' },
      { key: 'destination', label: 'To', render: (b) => (b.destinationKind === 'queue' ? h('a', { href: queueHref(b.vhost, b.destination) }, b.destination) : h('span', null, badge('exchange'), ' ', b.destination)) },
      { key: 'routingKey', label: 'Routing key', render: (b) => h('span', { class: 'mono' }, b.routingKey || '—') },
      { key: 'arguments', label: 'Arguments', value: (b) => JSON.stringify(b.arguments), render: (b) => args(b.arguments) },
    ],
  });
}

function connectionsTable(ctx, connections) {
  const close = (c) =>
    button('Close', async (b) => {
      const ok = await confirmAction({ title: `Close connection ${c.id}?`, message: `The client (${c.user} from ${c.remoteAddress}:${c.remotePort}) gets connection.close 320 CONNECTION_FORCED; its unacknowledged messages are requeued.`, confirmLabel: 'Close connection' });
      if (ok && (await run(b, () => del(`/api/amqp/connections/${enc(c.id)}?reason=${enc('Closed from the railyard dashboard')}`), `Closed connection ${c.id}`)) !== undefined) setTimeout(ctx.refresh, 100);
    }, { kind: 'danger', testId: `close-connection-${c.id}` });
  const sum = (c, k) => c.channels.reduce((n, ch) => n + ch[k], 0);
  return dataTable({
    id: 'amqp-connections',
    rows: connections,
    filterPlaceholder: 'Filter connections…',
    empty: 'No AMQP clients connected.',
    columns: [
      { key: 'id', label: 'Id', num: true, value: (c) => Number(c.id) },
      { key: 'user', label: 'User' },
      { key: 'vhost', label: 'Vhost' },
      { key: 'remote', label: 'Client', value: (c) => `${c.remoteAddress}:${c.remotePort}`, render: (c) => h('span', { class: 'mono small' }, `${c.remoteAddress}:${c.remotePort}`) },
      { key: 'channels', label: 'Channels', num: true, value: (c) => c.channels.length },
      { key: 'prefetch', label: 'Prefetch', value: (c) => c.channels.map((ch) => ch.prefetch).join(', ') },
      { key: 'unacked', label: 'Unacked', num: true, value: (c) => sum(c, 'unacked') },
      { key: 'consumers', label: 'Consumers', num: true, value: (c) => sum(c, 'consumers') },
      { key: 'actions', label: '', sortable: false, filter: false, render: (c) => h('div', { class: 'row-actions' }, close(c)) },
    ],
  });
}

async function listPage(ctx) {
  const vhosts = (await get('/api/amqp/vhosts')).vhosts.map((v) => v.name);
  const vhost = vhosts.includes(ctx.query.get('vhost')) ? ctx.query.get('vhost') : (vhosts.includes('/') ? '/' : vhosts[0]);
  const tab = TABS.includes(ctx.query.get('tab')) ? ctx.query.get('tab') : 'queues';
  const q = `?vhost=${enc(vhost)}`;
  const [queues, exchanges, bindings, connections] = await Promise.all([
    get(`/api/amqp/queues${q}`),
    get(`/api/amqp/exchanges${q}`),
    get(`/api/amqp/bindings${q}`),
    get('/api/amqp/connections'),
  ]);
  if (!ctx.live) return;
  const conns = connections.connections.filter((c) => c.vhost === vhost || c.vhost === null);
  const counts = { queues: queues.queues.length, exchanges: exchanges.exchanges.length, bindings: bindings.bindings.length, connections: conns.length };
  const select = h('select', { id: 'amqp-vhost', 'aria-label': 'Virtual host', onchange: (e) => ctx.go(listHref(e.target.value, tab)) }, vhosts.map((v) => h('option', { value: v, selected: v === vhost }, v)));
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'AMQP objects' }, TABS.map((t) => h('a', { href: listHref(vhost, t), 'aria-current': t === tab ? 'page' : null }, t[0].toUpperCase() + t.slice(1), h('span', { class: 'count muted' }, fmt.num(counts[t])))));
  const body =
    tab === 'queues' ? queuesTable(ctx, queues.queues) : tab === 'exchanges' ? exchangesTable(exchanges.exchanges) : tab === 'bindings' ? bindingsTable(bindings.bindings) : connectionsTable(ctx, conns);
  // Rates come from counters sampled between reads, so the queues tab re-reads them while shown.
  if (tab === 'queues') ctx.every(5000, async () => {
    const fresh = await get(`/api/amqp/queues${q}`);
    if (ctx.live) body.update(fresh.queues);
  });
  ctx.main.replaceChildren(
    pageHead({ title: 'AMQP', subtitle: 'Queues, exchanges, bindings and client connections of the AMQP door.', actions: [h('label', { class: 'field' }, h('span', null, 'Virtual host'), select), button('Refresh', () => ctx.refresh(), { testId: 'amqp-refresh' })] }),
    tabs,
    card(null, body),
  );
}

function messagesList(messages) {
  if (!messages.length) return h('p', { class: 'muted', id: 'amqp-got' }, 'The queue has no ready messages.');
  return h(
    'div',
    { id: 'amqp-got' },
    messages.map((m, i) =>
      h(
        'section',
        { class: 'card' },
        h('h3', null, `Message ${i + 1}`, ' ', m.redelivered ? badge('redelivered', 'info') : null),
        kv([
          ['Exchange', m.exchange || '(AMQP default)'],
          ['Routing key', m.routingKey],
          ['Properties', jsonBlock(m.properties)],
          ['Payload', h('span', { class: 'muted small' }, `${fmt.bytes(m.payloadBytes)}, ${m.payloadEncoding === 'base64' ? 'base64' : 'text'}`)],
        ]),
        h('pre', { class: 'payload' }, m.payload),
      ),
    ),
  );
}

function getMessagesCard(vhost, name, after) {
  const count = h('input', { type: 'number', name: 'count', min: 1, max: 1000, value: 1, 'aria-label': 'Messages', style: { width: '90px' } });
  const mode = h('select', { name: 'ackMode', 'aria-label': 'Ack mode' }, h('option', { value: 'requeue' }, 'Requeue (peek, marks redelivered)'), h('option', { value: 'ack' }, 'Ack (removes them)'));
  const out = h('div');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Get messages');
  const form = h('form', { class: 'form', id: 'amqp-get' }, h('label', { class: 'field' }, h('span', null, 'Messages'), count), h('label', { class: 'field grow' }, h('span', null, 'Ack mode'), mode), submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (mode.value === 'ack' && !(await confirmAction({ title: 'Take messages off the queue?', message: 'With ack mode "ack" the messages are removed for good.', confirmLabel: 'Get and ack' }))) return;
    const r = await run(submit, () => post(`/api/amqp/queues/${enc(vhost)}/${enc(name)}/get`, { count: Number(count.value), ackMode: mode.value }));
    if (r) {
      out.replaceChildren(messagesList(r.messages));
      after();
    }
  });
  return card('Get messages', form, out);
}

function publishCard(vhost, name, after) {
  const exchange = h('input', { type: 'text', name: 'exchange', value: '', placeholder: '(AMQP default)', 'aria-label': 'Exchange' });
  const key = h('input', { type: 'text', name: 'routingKey', value: name, 'aria-label': 'Routing key' });
  const body = h('textarea', { name: 'body', rows: 3, 'aria-label': 'Payload' }, 'test message');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Publish');
  const form = h(
    'form',
    { class: 'form', id: 'amqp-publish' },
    h('label', { class: 'field grow' }, h('span', null, 'Exchange'), exchange),
    h('label', { class: 'field grow' }, h('span', null, 'Routing key'), key),
    h('label', { class: 'field full' }, h('span', null, 'Payload'), body),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const x = exchange.value.trim() || 'amq.default';
    const r = await run(submit, () => post(`/api/amqp/exchanges/${enc(vhost)}/${enc(x)}/publish`, { routingKey: key.value, body: body.value }));
    if (r) {
      toast(r.routed ? 'Published' : 'Published, but no queue was bound for it', r.routed ? undefined : 'error');
      after();
    }
  });
  return card('Publish a test message', form);
}

async function queuePage(ctx) {
  const { vhost, name } = ctx.params;
  const stats = h('div');
  const actions = h('div', { class: 'row-actions', style: { display: 'flex', gap: 'var(--s2)' } });
  const head = pageHead({ crumbs: h('a', { href: listHref(vhost) }, `AMQP · ${vhost}`), title: name, subtitle: `Queue on vhost ${vhost}`, actions: [actions] });
  const back = () => ctx.go(listHref(vhost));
  let shown = false;
  const draw = async () => {
    try {
      const q = await get(`/api/amqp/queues/${enc(vhost)}/${enc(name)}`);
      if (!ctx.live) return;
      if (!shown) {
        actions.replaceChildren(purgeButton(q, draw), deleteButton(q, back));
        shown = true;
      }
      // replaceChildren would print a null child as text.
      const parts = [
        h(
          'div',
          { class: 'stats', id: 'amqp-queue' },
          stat('Ready', fmt.num(q.ready), null, 'messages'),
          stat('Unacked', fmt.num(q.unacked), null, 'unacked'),
          stat('Consumers', fmt.num(q.consumers), null, 'consumers'),
          stat('Ready bytes', fmt.bytes(q.bytes), q.pagedMessages ? `${fmt.num(q.pagedMessages)} paged out` : null),
          stat('Rates', `${rate(q.rates.publish)} in/s`, `${rate(q.rates.deliver)} out/s · ${rate(q.rates.ack)} ack/s`, 'rates'),
        ),
        h('p', null, q.durable ? badge('durable', 'info') : badge('transient'), ' ', q.exclusive ? badge('exclusive') : null, ' ', q.autoDelete ? badge('auto-delete') : null),
        Object.keys(q.arguments).length ? kv([['Arguments', jsonBlock(q.arguments)]]) : null,
      ];
      stats.replaceChildren(...parts.filter(Boolean));
    } catch (err) {
      if (ctx.live) stats.replaceChildren(errorBox(err.status === 404 ? `No queue ${name} on vhost ${vhost}.` : err));
    }
  };
  ctx.main.replaceChildren(head, stats, getMessagesCard(vhost, name, draw), publishCard(vhost, name, draw));
  await draw();
  ctx.every(2000, draw);
}

export default function register(app) {
  app.nav({ section: 'AMQP', label: 'Queues & exchanges', href: '#/amqp', match: '/amqp' });
  app.route('/amqp', listPage);
  app.route('/amqp/queues/:vhost/:name', queuePage);
}
