import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import amqp from 'amqplib';
import { channel, confirmChannel, eventually, sleep, startEmbedded, type TestTarget } from './helpers.js';
import type { AmqpDoorOptions } from '../../../src/protocol/amqp/index.js';

// Restarting the broker needs the embedded door; these tests do not run against an external URL.
const embedded = process.env.RAILYARD_AMQP_URL === undefined;
const dirs: string[] = [];
const targets: TestTarget[] = [];

afterEach(async () => {
  for (const t of targets.splice(0)) await t.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(doorOpts: AmqpDoorOptions = {}): Promise<TestTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-amqp-persist-'));
  dirs.push(dir);
  const t = await startEmbedded({}, dir, doorOpts);
  targets.push(t);
  return t;
}

async function getAll(ch: amqp.Channel, q: string, noAck = true): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck });
    if (!m) return out;
    out.push(m);
  }
}

describe.runIf(embedded)('durable topology and persistent messages', () => {
  it('durable exchanges, queues and bindings survive a restart; transient ones do not', async () => {
    const t = await start();
    let c = await amqp.connect(t.url);
    let ch = await channel(c);
    await ch.assertExchange('dx', 'topic', { durable: true });
    await ch.assertExchange('tx', 'topic', { durable: false });
    await ch.assertQueue('dq', { durable: true, arguments: { 'x-max-length': 100 } });
    await ch.assertQueue('tq', { durable: false });
    await ch.bindQueue('dq', 'dx', 'a.#');
    await c.close();
    await t.restart();
    c = await amqp.connect(t.url);
    ch = await channel(c);
    await ch.checkExchange('dx');
    const q = await ch.assertQueue('dq', { durable: true, arguments: { 'x-max-length': 100 } });
    expect(q.queue).toBe('dq');
    ch.publish('dx', 'a.b', Buffer.from('routed'));
    await eventually(async () => (await ch.checkQueue('dq')).messageCount === 1);
    expect(String(await ch.checkQueue('tq').catch((e: Error) => e))).toContain('NOT_FOUND');
    const ch2 = await channel(c);
    expect(String(await ch2.checkExchange('tx').catch((e: Error) => e))).toContain('NOT_FOUND');
    await c.close();
  });

  it('persistent messages on durable queues survive a restart, unacked ones redelivered', async () => {
    const t = await start();
    let c = await amqp.connect(t.url);
    let ch = await confirmChannel(c);
    await ch.assertQueue('orders', { durable: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue('orders', Buffer.from(`p${i}`), { persistent: true, headers: { i } });
    ch.sendToQueue('orders', Buffer.from('transient'), { persistent: false });
    await ch.waitForConfirms();
    const got = await getAll(ch, 'orders', false);
    expect(got).toHaveLength(11);
    // ack the first three, leave the rest unacked when the broker goes away
    ch.ack(got[2]!, true);
    await sleep(50);
    await c.close().catch(() => undefined);
    await t.restart();
    c = await amqp.connect(t.url);
    ch = await confirmChannel(c);
    const after = await getAll(ch, 'orders');
    expect(after.map((m) => m.content.toString())).toEqual(['p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9']);
    expect(after.every((m) => m.fields.redelivered)).toBe(true);
    expect(after[0]!.properties.headers).toMatchObject({ i: 3 });
    expect(after[0]!.properties.deliveryMode).toBe(2);
    await c.close();
    // Everything was acknowledged (noAck get): nothing comes back after another restart.
    await t.restart();
    c = await amqp.connect(t.url);
    ch = await confirmChannel(c);
    expect(await getAll(ch, 'orders')).toHaveLength(0);
    await c.close();
  });

  it('deletes message segments once everything in them is acknowledged', async () => {
    const t = await start();
    const c = await amqp.connect(t.url);
    const ch = await confirmChannel(c);
    await ch.assertQueue('big', { durable: true });
    const body = Buffer.alloc(4096, 1);
    for (let i = 0; i < 200; i++) ch.sendToQueue('big', body, { persistent: true });
    await ch.waitForConfirms();
    const root = join(t.dataDir!, 'amqp', 'queues');
    const [queueDir] = readdirSync(root);
    const logBytes = () =>
      readdirSync(join(root, queueDir!, 'messages'))
        .filter((f) => f.endsWith('.log'))
        .reduce((n, f) => n + statSync(join(root, queueDir!, 'messages', f)).size, 0);
    expect(logBytes()).toBeGreaterThan(200 * 4096);
    await getAll(ch, 'big');
    await eventually(() => logBytes() === 0, 5000);
    await c.close();
  });

  it('persistent messages held by a durable x-delayed-message exchange survive a restart', async () => {
    const t = await start();
    let c = await amqp.connect(t.url);
    let ch = await confirmChannel(c);
    await ch.assertExchange('later', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
    await ch.assertQueue('due', { durable: true });
    await ch.bindQueue('due', 'later', 'k');
    ch.publish('later', 'k', Buffer.from('held'), { persistent: true, headers: { 'x-delay': 400 } });
    await ch.waitForConfirms();
    await c.close();
    await t.restart();
    c = await amqp.connect(t.url);
    ch = await confirmChannel(c);
    expect((await ch.checkQueue('due')).messageCount).toBe(0);
    const m = (await eventually(() => ch.get('due', { noAck: true }), 5000)) as amqp.GetMessage;
    expect(m.content.toString()).toBe('held');
    await c.close();
    // Routed once: nothing is held any more after another restart.
    await t.restart();
    c = await amqp.connect(t.url);
    ch = await confirmChannel(c);
    await sleep(500);
    expect((await ch.checkQueue('due')).messageCount).toBe(0);
    await c.close();
  });

  it('pages persistent bodies out beyond the memory budget and reads them back in order', async () => {
    const t = await start({ queueResidentBytes: 64 * 1024 });
    const body = (i: number) => Buffer.concat([Buffer.from(`m${i}:`), Buffer.alloc(4000, i % 251)]);
    let c = await amqp.connect(t.url);
    let ch = await confirmChannel(c);
    await ch.assertQueue('paged', { durable: true, arguments: { 'x-max-priority': 2 } });
    for (let i = 0; i < 400; i++) {
      ch.sendToQueue('paged', body(i), { persistent: i % 10 !== 0, priority: i % 50 === 0 ? 2 : 0, headers: { i } });
    }
    await ch.waitForConfirms();
    await sleep(50);
    const info = t.door()!.queueInfo('/', 'paged')!;
    expect(info.messages).toBe(400);
    expect(info.pagedMessages).toBeGreaterThan(300);
    expect(info.residentBytes).toBeLessThanOrEqual(64 * 1024 + 4010);
    // take the first 100 (acknowledged), then the rest after a restart with the same budget
    const first: amqp.GetMessage[] = [];
    for (let i = 0; i < 100; i++) first.push((await ch.get('paged', { noAck: true })) as amqp.GetMessage);
    expect(first.map((m) => m.properties.headers!.i).slice(0, 8)).toEqual([0, 50, 100, 150, 200, 250, 300, 350]);
    for (const m of first) expect(m.content.equals(body(m.properties.headers!.i as number))).toBe(true);
    await c.close();
    await t.restart();
    c = await amqp.connect(t.url);
    ch = await confirmChannel(c);
    // recovery keeps only the budget's worth of bodies in memory too
    expect(t.door()!.queueInfo('/', 'paged')!.residentBytes).toBeLessThanOrEqual(64 * 1024);
    const rest = await getAll(ch, 'paged');
    const taken = new Set(first.map((m) => m.properties.headers!.i as number));
    // transient messages (every 10th) are gone after the restart
    const left = [...Array(400).keys()].filter((i) => !taken.has(i) && i % 10 !== 0);
    expect(rest.map((m) => m.properties.headers!.i)).toEqual(left);
    for (const m of rest) expect(m.content.equals(body(m.properties.headers!.i as number))).toBe(true);
    await c.close();
  });

  it('deleting a durable queue removes its log directory', async () => {
    const t = await start();
    const c = await amqp.connect(t.url);
    const ch = await confirmChannel(c);
    await ch.assertQueue('gone', { durable: true });
    ch.sendToQueue('gone', Buffer.from('x'), { persistent: true });
    await ch.waitForConfirms();
    const root = join(t.dataDir!, 'amqp', 'queues');
    expect(readdirSync(root)).toHaveLength(1);
    await ch.deleteQueue('gone');
    await eventually(() => readdirSync(root).length === 0);
    await c.close();
  });
});

describe.runIf(embedded)('crash safety', () => {
  const child = resolve(import.meta.dirname, 'crash-child.ts');

  function startChild(dir: string, port: number): Promise<{ proc: ChildProcess; port: number }> {
    return new Promise((res, rej) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+)/.exec(out);
        if (m) res({ proc, port: Number(m[1]) });
      });
      proc.once('exit', (code) => rej(new Error(`child exited ${code}`)));
    });
  }

  it('every confirmed persistent message is there after kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-amqp-crash-'));
    dirs.push(dir);
    const first = await startChild(dir, 0);
    const url = `amqp://guest:guest@127.0.0.1:${first.port}`;
    const c = await amqp.connect(url);
    c.on('error', () => undefined);
    const ch = await confirmChannel(c);
    await ch.assertQueue('crash', { durable: true });
    const confirmed = new Set<number>();
    let sent = 0;
    let killed = false;
    // Keep about 200 publishes in flight until enough were confirmed, then kill mid-stream.
    await new Promise<void>((done) => {
      const pump = () => {
        while (!killed && sent - confirmed.size < 200) {
          const id = sent++;
          ch.sendToQueue('crash', Buffer.from(String(id)), { persistent: true }, (err) => {
            if (err) return;
            confirmed.add(id);
            if (!killed && confirmed.size >= 1500) {
              killed = true;
              first.proc.kill('SIGKILL');
              done();
            } else pump();
          });
        }
      };
      pump();
    });
    await new Promise((r) => first.proc.once('exit', r));
    const second = await startChild(dir, 0);
    try {
      const c2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${second.port}`);
      const ch2 = await channel(c2);
      const seen = new Set<number>();
      for (const m of await getAll(ch2, 'crash')) seen.add(Number(m.content.toString()));
      const missing = [...confirmed].filter((id) => !seen.has(id));
      expect(missing).toEqual([]);
      await c2.close();
    } finally {
      second.proc.kill('SIGKILL');
    }
  });
});
