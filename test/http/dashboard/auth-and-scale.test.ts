import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startBroker, type Broker } from '../../../src/broker.js';
import { apiClient } from '../helpers.js';
import { chromiumMissing, launch, shot, watchErrors } from './browser.js';

const skip = chromiumMissing();

describe.skipIf(skip !== null)(`dashboard login and long lists in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let locked: Broker;
  let big: Broker;
  let browser: Browser;

  beforeAll(async () => {
    [locked, big, browser] = await Promise.all([
      startBroker({ host: '127.0.0.1', logLevel: 'silent', amqp: { users: [{ name: 'alice', password: 's3cret' }] } }),
      startBroker({ host: '127.0.0.1', logLevel: 'silent' }),
      launch(),
    ]);
    const api = apiClient(big.http.url);
    const names = Array.from({ length: 1000 }, (_, i) => `topic-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      const results = await Promise.all(names.slice(i, i + 50).map((name) => api('POST', '/api/kafka/topics', { name })));
      for (const r of results) expect(r.status).toBe(201);
    }
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([locked?.stop(), big?.stop()]);
  });

  it('asks for a login when users are configured, refuses a wrong password, keeps the session for the tab, logs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const page: Page = await context.newPage();
    const errors = watchErrors(page);
    let dialogs = 0;
    page.on('dialog', () => dialogs++);
    await page.goto(locked.http.url + '/');
    await page.waitForSelector('#login-form');
    expect(await page.isVisible('#nav')).toBe(false);
    await shot(page, 'login-1280-dark');

    await page.fill('#login-form input[name=user]', 'alice');
    await page.fill('#login-form input[name=password]', 'wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-form .error-box:not([hidden])');
    expect(await page.textContent('#login-form .error-box')).toContain('wrong password');

    await page.fill('#login-form input[name=password]', 's3cret');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('[data-stat="version"]');
    expect(await page.textContent('#whoami')).toContain('alice');
    expect(await page.evaluate(() => sessionStorage.getItem('railyard.auth'))).toMatch(/^Basic /);

    // A reload in the same tab stays logged in; the pages' API calls carry the credentials.
    await page.goto(locked.http.url + '/#/kafka/topics');
    await page.waitForSelector('#topics-table');
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    expect(await page.evaluate(() => sessionStorage.getItem('railyard.auth'))).toBeNull();
    expect(dialogs).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('with 1,000 topics: the overview loads from light calls, the topics list pages and filters on the client', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const apiCalls: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/')) apiCalls.push(path);
    });
    await page.goto(big.http.url + '/');
    await page.waitForSelector('[data-stat="topics"]');
    expect(await page.textContent('[data-stat="topics"] .value')).toBe('1,000');
    // No topic list or per-topic calls: the overview page reads the overview's totals.
    expect(apiCalls.filter((p) => p.startsWith('/api/kafka/topics'))).toEqual([]);
    // A second load, with the browser warm, is the one a person sees while the broker runs.
    await page.reload();
    await page.waitForSelector('[data-stat="topics"]');
    const dcl = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return nav.domContentLoadedEventEnd - nav.startTime;
    });
    console.log(`overview DOMContentLoaded with 1,000 topics: ${dcl.toFixed(0)} ms`);

    await page.goto(big.http.url + '/#/kafka/topics');
    await page.waitForSelector('#topics-table tbody tr');
    expect(await page.locator('#topics-table tbody tr').count()).toBe(25);
    expect(await page.textContent('#topics-table .pager')).toContain('Page 1 of 40');
    await page.click('#topics-table [data-action="next-page"]');
    expect(await page.textContent('#topics-table tbody tr:first-child a')).toBe('topic-0025');
    await page.fill('#topics-table input[type=search]', 'topic-099');
    expect(await page.locator('#topics-table tbody tr').count()).toBe(10);
    // Sort by name descending.
    await page.fill('#topics-table input[type=search]', '');
    await page.click('#topics-table th button:text-is("Topic")');
    await page.click('#topics-table th button:text-is("Topic")');
    expect(await page.textContent('#topics-table tbody tr:first-child a')).toBe('topic-0999');
    await shot(page, 'topics-1000-1280-light');
    expect(errors).toEqual([]);
    await context.close();
  });
});
