// The shell: theme, login, navigation and hash routing. Each door's pages live in one module under
// pages/ that registers its nav entries and routes; pages/index.js lists those modules.
import { ApiError, session } from './api.js';
import { errorBox, h } from './ui.js';
import { pages } from './pages/index.js';

const routes = [];
const navItems = [];
const main = document.getElementById('main');
const nav = document.getElementById('nav');

const app = {
  /** pattern: '/kafka/topics/:name'; render(ctx) draws into ctx.main and may return a promise. */
  route(pattern, render) {
    routes.push({ parts: pattern.split('/').filter(Boolean), render });
  },
  /** section groups entries under a heading; match tells which routes highlight this entry. */
  nav({ section, label, href, match }) {
    navItems.push({ section, label, href, match: match ?? href.slice(1) });
  },
};
for (const register of pages) register(app);

// Theme: the OS preference unless the toggle stored a choice.
const THEME_KEY = 'railyard.theme';
function currentTheme() {
  return document.documentElement.dataset.theme ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}
document.getElementById('theme-toggle').addEventListener('click', () => {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch {}
  window.dispatchEvent(new CustomEvent('railyard:theme', { detail: next }));
});

// Phone width: the sidebar becomes a menu behind the toggle.
const navToggle = document.getElementById('nav-toggle');
function setNavOpen(open) {
  document.body.classList.toggle('nav-open', open);
  navToggle.setAttribute('aria-expanded', String(open));
}
navToggle.addEventListener('click', () => setNavOpen(!document.body.classList.contains('nav-open')));

function drawNav() {
  let section;
  const out = [];
  for (const item of navItems) {
    if (item.section !== section) {
      section = item.section;
      if (section) out.push(h('div', { class: 'nav-section' }, section));
    }
    out.push(h('a', { href: item.href, 'data-nav': item.href, onclick: () => setNavOpen(false) }, item.label));
  }
  nav.replaceChildren(...out);
}

function markNav(path) {
  let best = null;
  for (const item of navItems) {
    const m = item.match;
    const hit = m === '/' ? path === '/' : path === m || path.startsWith(m + '/');
    if (hit && (!best || m.length > best.match.length)) best = item;
  }
  for (const a of nav.querySelectorAll('a')) {
    if (best && a.dataset.nav === best.href) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { path: path || '/', query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

function findRoute(path) {
  const parts = path.split('/').filter(Boolean);
  for (const r of routes) {
    if (r.parts.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      if (r.parts[i].startsWith(':')) {
        try {
          params[r.parts[i].slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else if (r.parts[i] !== parts[i]) ok = false;
      if (!ok) break;
    }
    if (ok) return { route: r, params };
  }
  return null;
}

let current = null;
let generation = 0;

/** Per-render context; its timers stop when the user navigates away and pause while the tab is hidden. */
function makeCtx(params, query) {
  const timers = [];
  const cleanups = [];
  const gen = ++generation;
  const ctx = {
    main,
    params,
    query,
    get live() {
      return gen === generation;
    },
    every(ms, fn) {
      let busy = false;
      const id = setInterval(async () => {
        if (busy || document.hidden || !ctx.live) return;
        busy = true;
        try {
          await fn();
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 401)) console.warn(err);
        } finally {
          busy = false;
        }
      }, ms);
      timers.push(id);
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
    refresh: () => render(),
    go(hash) {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    dispose() {
      for (const id of timers) clearInterval(id);
      for (const fn of cleanups) fn();
    },
  };
  return ctx;
}

async function render() {
  if (current) current.dispose();
  const { path, query } = parseHash();
  markNav(path);
  const found = findRoute(path);
  const ctx = makeCtx(found ? found.params : {}, query);
  current = ctx;
  if (!found) {
    main.replaceChildren(h('h1', null, 'Not found'), h('p', { class: 'muted' }, `No page at ${path}. `, h('a', { href: '#/' }, 'Back to the overview')));
    return;
  }
  try {
    await found.route.render(ctx);
  } catch (err) {
    if (!ctx.live) return;
    if (err instanceof ApiError && err.status === 401) return;
    main.replaceChildren(errorBox(err));
  }
}

// Login: when the broker has users, the page asks for one and keeps it for this tab only.
const whoami = document.getElementById('whoami');
const logout = document.getElementById('logout');
logout.addEventListener('click', () => {
  session.clear();
  showLogin();
});
window.addEventListener('railyard:unauthorized', () => {
  session.clear();
  showLogin('Your session is no longer valid; log in again.');
});

function showLogin(message) {
  if (current) current.dispose();
  current = null;
  generation++;
  document.body.classList.add('auth-pending');
  whoami.hidden = true;
  logout.hidden = true;
  const error = h('div', { class: 'error-box', role: 'alert', hidden: !message }, message ?? '');
  const user = h('input', { type: 'text', name: 'user', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h(
    'form',
    { id: 'login-form' },
    error,
    h('label', { class: 'field' }, h('span', null, 'User'), user),
    h('label', { class: 'field' }, h('span', null, 'Password'), password),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const res = await fetch('/dashboard/auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: user.value, password: password.value }) });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        error.textContent = res.status === 401 ? 'Unknown user or wrong password.' : body.message ?? `HTTP ${res.status}`;
        error.hidden = false;
        password.select();
        return;
      }
      session.set(user.value, password.value);
      signedIn();
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(h('div', { class: 'login card' }, h('h1', null, 'Log in'), h('p', { class: 'muted' }, 'This broker has users configured. Use one of its AMQP users.'), form));
  user.focus();
}

function signedIn() {
  document.body.classList.remove('auth-pending');
  const name = session.user();
  whoami.textContent = name ? `Signed in as ${name}` : '';
  whoami.hidden = !name;
  logout.hidden = !name;
  render();
}

// The hash is the router's, so the skip link moves focus itself instead of jumping to #main.
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

drawNav();
window.addEventListener('hashchange', () => {
  if (!document.body.classList.contains('auth-pending')) render();
});

// Whether a login is needed comes from a public route, so an anonymous page never triggers the
// browser's own basic-auth prompt.
fetch('/dashboard/auth')
  .then((r) => r.json())
  .then(({ authRequired }) => {
    if (authRequired && !session.header()) showLogin();
    else signedIn();
  })
  .catch((err) => main.replaceChildren(errorBox(err)));
