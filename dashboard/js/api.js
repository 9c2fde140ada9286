// The API client: every call carries the session's basic-auth header when there is one.
const KEY = 'railyard.auth';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.field = body && body.field;
  }
}

export const session = {
  header: () => sessionStorage.getItem(KEY),
  user: () => sessionStorage.getItem(KEY + '.user'),
  set(user, password) {
    // btoa needs Latin-1; encode first so non-ASCII passwords survive as UTF-8, as the server decodes them.
    const bytes = new TextEncoder().encode(`${user}:${password}`);
    sessionStorage.setItem(KEY, 'Basic ' + btoa(String.fromCharCode(...bytes)));
    sessionStorage.setItem(KEY + '.user', user);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY + '.user');
  },
};

export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const auth = session.header();
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { message: text };
  }
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new CustomEvent('railyard:unauthorized'));
    throw new ApiError(res.status, parsed);
  }
  return parsed;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const del = (path) => api('DELETE', path);
export const enc = encodeURIComponent;
