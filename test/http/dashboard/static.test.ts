import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../../src/broker.js';

describe('dashboard assets on the HTTP door', () => {
  let open: Broker;
  let locked: Broker;
  beforeAll(async () => {
    [open, locked] = await Promise.all([
      startBroker({ host: '127.0.0.1', logLevel: 'silent' }),
      startBroker({ host: '127.0.0.1', logLevel: 'silent', amqp: { users: [{ name: 'alice', password: 's3cret' }] } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), locked?.stop()]);
  });

  it('serves the page, its modules and uPlot with the right content types', async () => {
    const page = await fetch(open.http.url + '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/dashboard/js/app.js');
    for (const [path, type] of [
      ['/dashboard/js/app.js', /^text\/javascript/],
      ['/dashboard/js/pages/kafka.js', /^text\/javascript/],
      ['/dashboard/css/app.css', /^text\/css/],
      ['/dashboard/favicon.svg', /^image\/svg\+xml/],
      ['/dashboard/vendor/uPlot.esm.js', /^text\/javascript/],
      ['/dashboard/vendor/uPlot.min.css', /^text\/css/],
    ] as const) {
      const res = await fetch(open.http.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
    expect(await (await fetch(open.http.url + '/dashboard/vendor/uPlot.esm.js')).text()).toMatch(/export \{ uPlot as default \}/);
  });

  it('never serves anything outside its folder, nor files of other types', async () => {
    for (const path of ['/dashboard/..%2F..%2Fpackage.json', '/dashboard/%2E%2E/package.json', '/dashboard/js/..%2F..%2Fpackage.json', '/dashboard/.hidden', '/dashboard/js/nope.js', '/dashboard/vendor/uPlot.cjs.js', '/dashboard/index.ts']) {
      const res = await fetch(open.http.url + path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe('not_found');
    }
  });

  it('with users configured: the page and assets stay public, the API needs credentials, the login check answers without a browser prompt', async () => {
    expect((await fetch(locked.http.url + '/')).status).toBe(200);
    expect((await fetch(locked.http.url + '/dashboard/js/app.js')).status).toBe(200);
    expect((await fetch(locked.http.url + '/api/overview')).status).toBe(401);
    expect(await (await fetch(locked.http.url + '/dashboard/auth')).json()).toEqual({ authRequired: true });
    expect(await (await fetch(open.http.url + '/dashboard/auth')).json()).toEqual({ authRequired: false });

    const check = (body: unknown) => fetch(locked.http.url + '/dashboard/auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const good = await check({ user: 'alice', password: 's3cret' });
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ authRequired: true, user: 'alice' });
    const bad = await check({ user: 'alice', password: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBeNull();
    const missing = await check({ password: 'x' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { field: string }).field).toBe('user');
  });
});
