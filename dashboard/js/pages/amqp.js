import { enc, get } from '../api.js';
import { badge, card, errorBox, fmt, h, pageHead, stat } from '../ui.js';

// The API answers one queue by vhost and name (no listing yet), so the page looks queues up and
// remembers the ones looked at in this browser.
const RECENT = 'railyard.amqp.recent';
const recent = () => {
  try {
    return JSON.parse(localStorage.getItem(RECENT) ?? '[]');
  } catch {
    return [];
  }
};
function remember(vhost, name) {
  const list = [{ vhost, name }, ...recent().filter((q) => q.vhost !== vhost || q.name !== name)].slice(0, 10);
  localStorage.setItem(RECENT, JSON.stringify(list));
}
const queueHref = (vhost, name) => `#/amqp/queues/${enc(vhost)}/${enc(name)}`;

function lookupForm(ctx, vhost = '/', name = '') {
  const v = h('input', { type: 'text', name: 'vhost', value: vhost, 'aria-label': 'Virtual host', style: { width: '120px' } });
  const q = h('input', { type: 'text', name: 'queue', value: name, required: true, placeholder: 'queue name', 'aria-label': 'Queue' });
  const form = h('form', { class: 'form', id: 'amqp-lookup' }, h('label', { class: 'field' }, h('span', null, 'Virtual host'), v), h('label', { class: 'field grow' }, h('span', null, 'Queue'), q), h('button', { type: 'submit', class: 'btn btn-primary' }, 'Show queue'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.go(queueHref(v.value || '/', q.value.trim()));
  });
  return form;
}

function recentList() {
  const list = recent();
  if (!list.length) return h('p', { class: 'muted' }, 'Queues you look up are listed here.');
  return h('ul', null, list.map((q) => h('li', null, h('a', { href: queueHref(q.vhost, q.name) }, q.name), h('span', { class: 'muted small' }, ` on vhost ${q.vhost}`))));
}

function queuesPage(ctx) {
  ctx.main.replaceChildren(pageHead({ title: 'AMQP queues', subtitle: 'Look up a queue on the AMQP door by virtual host and name.' }), card('Find a queue', lookupForm(ctx)), card('Recently viewed', recentList()));
}

async function queuePage(ctx) {
  const { vhost, name } = ctx.params;
  const body = h('div');
  ctx.main.replaceChildren(pageHead({ crumbs: h('a', { href: '#/amqp' }, 'AMQP queues'), title: name, subtitle: `vhost ${vhost}` }), body, card('Another queue', lookupForm(ctx, vhost)));
  const draw = async () => {
    try {
      const q = await get(`/api/amqp/queues/${enc(vhost)}/${enc(name)}`);
      if (!ctx.live) return;
      remember(vhost, name);
      body.replaceChildren(
        h(
          'div',
          { class: 'stats', id: 'amqp-queue' },
          stat('Ready messages', fmt.num(q.messages), null, 'messages'),
          stat('Consumers', fmt.num(q.consumers), null, 'consumers'),
          stat('Ready bytes', fmt.bytes(q.readyBytes)),
          stat('In memory', fmt.bytes(q.residentBytes)),
          stat('Paged out', fmt.num(q.pagedMessages), 'messages'),
        ),
        h('p', null, q.durable ? badge('durable', 'info') : badge('transient')),
      );
    } catch (err) {
      if (ctx.live) body.replaceChildren(errorBox(err.status === 404 ? `No queue ${name} on vhost ${vhost}.` : err));
    }
  };
  await draw();
  ctx.every(2000, draw);
}

export default function register(app) {
  app.nav({ section: 'AMQP', label: 'Queues', href: '#/amqp', match: '/amqp' });
  app.route('/amqp', queuesPage);
  app.route('/amqp/queues/:vhost/:name', queuePage);
}
