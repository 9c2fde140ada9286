// Small DOM helpers shared by every page. Text always goes in as text nodes, never as HTML.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const fmt = {
  num: (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US')),
  bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = Number(n);
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
  },
  duration(ms) {
    if (ms === null || ms === undefined) return '—';
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    const hr = Math.floor(m / 60);
    if (hr < 48) return `${hr}h ${m % 60}m`;
    return `${Math.floor(hr / 24)}d ${hr % 24}h`;
  },
  time(t) {
    if (t === null || t === undefined || t === '' || t === 0) return '—';
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
  },
  relative(t) {
    if (t === null || t === undefined || t === 0) return '';
    const diff = new Date(t).getTime() - Date.now();
    const abs = fmt.duration(Math.abs(diff));
    return diff >= 0 ? `in ${abs}` : `${abs} ago`;
  },
};

/** A time cell: absolute time with the relative one beneath, so both are readable at a glance. */
export function timeCell(t) {
  if (t === null || t === undefined || t === 0) return h('span', { class: 'muted' }, '—');
  return h('span', { title: new Date(t).toISOString() }, fmt.time(t), ' ', h('span', { class: 'muted small rel' }, fmt.relative(t)));
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind ?? ''}` }, text);
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', null, title) : null, ...children);
}

export function stat(label, value, sub, testId) {
  return h('div', { class: 'stat', 'data-stat': testId }, h('div', { class: 'label' }, label), h('div', { class: 'value', title: String(value) }, value), sub ? h('div', { class: 'sub', title: String(sub) }, sub) : null);
}

export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function pageHead({ title, subtitle, crumbs, actions }) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', { class: 'titles' }, crumbs ? h('div', { class: 'crumbs' }, crumbs) : null, h('h1', null, title), subtitle ? h('p', null, subtitle) : null),
    actions && actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

export function jsonBlock(value) {
  return h('pre', null, value === undefined ? '—' : JSON.stringify(value, null, 2));
}

export function errorBox(err) {
  return h('div', { class: 'error-box', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

export function progressBar(p) {
  const pct = typeof p === 'number' ? Math.max(0, Math.min(100, p)) : null;
  if (pct === null) return h('span', { class: 'mono small' }, p === undefined || p === null ? '—' : JSON.stringify(p));
  return h('div', { class: 'progress', title: `${pct}%`, role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { style: { width: `${pct}%` } }));
}

export function toast(message, kind) {
  const el = h('div', { class: `toast ${kind ?? ''}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  const box = document.getElementById('toasts');
  box.append(el);
  // A burst of actions keeps only the latest few on screen.
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 6000 : 3000);
}

/** Asks before a destructive action, in the page's own <dialog>; resolves true only on Confirm. */
export function confirmAction({ title, message, confirmLabel = 'Confirm', danger = true }) {
  const dialog = document.getElementById('confirm');
  dialog.querySelector('#confirm-title').textContent = title;
  dialog.querySelector('#confirm-message').textContent = message ?? '';
  const ok = dialog.querySelector('#confirm-ok');
  ok.textContent = confirmLabel;
  ok.className = danger ? 'btn btn-danger' : 'btn btn-primary';
  dialog.returnValue = '';
  dialog.showModal();
  dialog.querySelector('#confirm-cancel').focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** Runs an action from a button: disables it meanwhile, reports failure as a toast. */
export async function run(button, fn, success) {
  if (button) button.disabled = true;
  try {
    const result = await fn();
    if (success) toast(typeof success === 'function' ? success(result) : success);
    return result;
  } catch (err) {
    toast(err.message ?? String(err), 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function button(label, onclick, { kind, size = 'sm', title, testId } = {}) {
  const b = h('button', { type: 'button', class: `btn ${size === 'sm' ? 'btn-sm' : ''} ${kind ? 'btn-' + kind : ''}`, title, 'data-action': testId });
  b.textContent = label;
  b.addEventListener('click', () => onclick(b));
  return b;
}

/**
 * A client-side table over rows already fetched in one call: filter box, sortable headers, pages.
 * columns: [{ key, label, value?(row), render?(row), num?, wrap? }]
 */
export function dataTable({ columns, rows: initialRows, pageSize = 25, filter = true, filterPlaceholder = 'Filter…', empty = 'Nothing here yet.', initialSort, id }) {
  const state = { q: '', sort: initialSort ?? null, page: 0 };
  let rows = initialRows;
  const valueOf = (col, row) => (col.value ? col.value(row) : row[col.key]);
  const root = h('div', { class: 'data-table', id });
  const input = filter ? h('input', { type: 'search', placeholder: filterPlaceholder, 'aria-label': filterPlaceholder }) : null;
  const info = h('span', { class: 'muted small' });
  const tbody = h('tbody');
  const pager = h('div', { class: 'pager' });
  const headCells = columns.map((col) => {
    const th = h('th', { class: col.num ? 'num' : '', scope: 'col' });
    if (col.sortable === false || !col.label) th.append(col.label ?? '');
    else
      th.append(
        h('button', {
          type: 'button',
          onclick: () => {
            state.sort = state.sort && state.sort.key === col.key ? { key: col.key, dir: -state.sort.dir } : { key: col.key, dir: col.num ? -1 : 1 };
            state.page = 0;
            draw();
          },
        }, col.label),
      );
    return th;
  });
  const table = h('table', null, h('thead', null, h('tr', null, headCells)), tbody);

  function visible() {
    const q = state.q.trim().toLowerCase();
    let list = q ? rows.filter((r) => columns.some((c) => c.filter !== false && String(valueOf(c, r) ?? '').toLowerCase().includes(q))) : rows.slice();
    if (state.sort) {
      const col = columns.find((c) => c.key === state.sort.key);
      const dir = state.sort.dir;
      list.sort((a, b) => {
        const x = valueOf(col, a);
        const y = valueOf(col, b);
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true }) * dir;
      });
    }
    return list;
  }

  function draw() {
    const list = visible();
    const pages = Math.max(1, Math.ceil(list.length / pageSize));
    state.page = Math.min(state.page, pages - 1);
    const slice = list.slice(state.page * pageSize, (state.page + 1) * pageSize);
    headCells.forEach((th, i) => {
      const col = columns[i];
      if (state.sort && state.sort.key === col.key) th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    tbody.replaceChildren(
      ...(slice.length
        ? slice.map((row) => h('tr', null, columns.map((col) => h('td', { class: `${col.num ? 'num' : ''} ${col.wrap ? 'wrap' : ''}` }, col.render ? col.render(row) : fmtCell(valueOf(col, row), col)))))
        : [h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, rows.length ? 'No rows match the filter.' : empty))]),
    );
    const noun = (n) => (n === 1 ? 'row' : 'rows');
    info.textContent = list.length === rows.length ? `${fmt.num(rows.length)} ${noun(rows.length)}` : `${fmt.num(list.length)} of ${fmt.num(rows.length)} ${noun(rows.length)}`;
    pager.replaceChildren();
    if (pages > 1) {
      pager.append(
        button('‹ Prev', () => { state.page--; draw(); }, { testId: 'prev-page' }),
        h('span', { class: 'muted small' }, `Page ${state.page + 1} of ${pages}`),
        button('Next ›', () => { state.page++; draw(); }, { testId: 'next-page' }),
      );
      pager.firstChild.disabled = state.page === 0;
      pager.lastChild.disabled = state.page >= pages - 1;
    }
  }

  if (input)
    input.addEventListener('input', () => {
      state.q = input.value;
      state.page = 0;
      draw();
    });
  root.append(...(filter ? [h('div', { class: 'toolbar' }, input, h('span', { class: 'spacer' }), info)] : []), h('div', { class: 'table-wrap' }, table), pager);
  // Live pages swap in fresh rows and keep the reader's filter, sort and page.
  root.update = (next) => {
    rows = next;
    draw();
  };
  draw();
  return root;
}

function fmtCell(v, col) {
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, '—');
  if (col.num && typeof v === 'number') return fmt.num(v);
  return String(v);
}

/** Previous/next for lists the server pages (start + limit + total). */
export function serverPager({ start, limit, total, go }) {
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(start / limit);
  const prev = button('‹ Prev', () => go(Math.max(0, start - limit)), { testId: 'prev-page' });
  const next = button('Next ›', () => go(start + limit), { testId: 'next-page' });
  prev.disabled = page === 0;
  next.disabled = page >= pages - 1;
  return h('div', { class: 'pager' }, h('span', { class: 'muted small' }, `${fmt.num(total)} ${total === 1 ? 'job' : 'jobs'} · page ${page + 1} of ${pages}`), prev, next);
}
