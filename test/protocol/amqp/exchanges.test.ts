import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { channel, startTarget, uniqueName, sleep, type TestTarget } from './helpers.js';

let target: TestTarget;
let conn: amqp.ChannelModel;

beforeAll(async () => {
  target = await startTarget();
  conn = await amqp.connect(target.url);
});
afterAll(async () => {
  await conn.close();
  await target.stop();
});

/** Declares an exclusive queue bound by each (exchange, key, args) and returns a reader of what arrives. */
async function sink(ch: amqp.Channel, binds: Array<[string, string, Record<string, unknown>?]>) {
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  for (const [x, key, args] of binds) await ch.bindQueue(q, x, key, args);
  return {
    q,
    async drain(): Promise<string[]> {
      await sleep(30);
      const out: string[] = [];
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (!m) return out;
        out.push(m.content.toString());
      }
    },
  };
}

describe('exchanges', () => {
  it('predeclares the amq.* exchanges and refuses to create new amq.* names', async () => {
    const ch = await channel(conn);
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) await ch.checkExchange(x);
    const err = await ch.assertExchange('amq.custom', 'direct').catch((e: Error) => e);
    expect(String(err)).toMatch(/ACCESS_REFUSED - exchange name 'amq.custom' contains reserved prefix 'amq\.\*'/);
  });

  it('routes by the default exchange to the queue named by the routing key', async () => {
    const ch = await channel(conn);
    const s = await sink(ch, []);
    ch.publish('', s.q, Buffer.from('d'));
    expect(await s.drain()).toEqual(['d']);
  });

  it('direct and fanout', async () => {
    const ch = await channel(conn);
    const d = uniqueName('dx');
    const f = uniqueName('fx');
    await ch.assertExchange(d, 'direct', { autoDelete: true });
    await ch.assertExchange(f, 'fanout', { autoDelete: true });
    const a = await sink(ch, [[d, 'a'], [f, 'ignored']]);
    const b = await sink(ch, [[d, 'b'], [f, '']]);
    ch.publish(d, 'a', Buffer.from('to-a'));
    ch.publish(d, 'b', Buffer.from('to-b'));
    ch.publish(d, 'c', Buffer.from('nowhere'));
    ch.publish(f, 'whatever', Buffer.from('all'));
    expect(await a.drain()).toEqual(['to-a', 'all']);
    expect(await b.drain()).toEqual(['to-b', 'all']);
  });

  it('topic with * and #', async () => {
    const ch = await channel(conn);
    const x = uniqueName('tx');
    await ch.assertExchange(x, 'topic', { autoDelete: true });
    const star = await sink(ch, [[x, 'stock.*.nyse']]);
    const hash = await sink(ch, [[x, 'stock.#']]);
    const mid = await sink(ch, [[x, '#.error.#']]);
    const all = await sink(ch, [[x, '#']]);
    const keys = ['stock.ibm.nyse', 'stock.nyse', 'stock', 'stock.a.b.nyse', 'app.error', 'error', 'x.error.y.z', 'other'];
    for (const k of keys) ch.publish(x, k, Buffer.from(k));
    expect(await star.drain()).toEqual(['stock.ibm.nyse']);
    expect(await hash.drain()).toEqual(['stock.ibm.nyse', 'stock.nyse', 'stock', 'stock.a.b.nyse']);
    expect(await mid.drain()).toEqual(['app.error', 'error', 'x.error.y.z']);
    expect(await all.drain()).toEqual(keys);
  });

  it('topic matching of empty routing keys and empty words', async () => {
    const ch = await channel(conn);
    const x = uniqueName('tx');
    await ch.assertExchange(x, 'topic', { autoDelete: true });
    const sinks: Record<string, Awaited<ReturnType<typeof sink>>> = {};
    for (const p of ['*', '', '#', '*.#']) sinks[p] = await sink(ch, [[x, p]]);
    for (const k of ['', 'a', 'a.', '.']) ch.publish(x, k, Buffer.from(k));
    expect(await sinks['*']!.drain()).toEqual(['a']);
    expect(await sinks['']!.drain()).toEqual(['']);
    expect(await sinks['#']!.drain()).toEqual(['', 'a', 'a.', '.']);
    expect(await sinks['*.#']!.drain()).toEqual(['a', 'a.', '.']);
  });

  it('a queue bound twice by overlapping topic patterns gets one copy', async () => {
    const ch = await channel(conn);
    const x = uniqueName('tx');
    await ch.assertExchange(x, 'topic', { autoDelete: true });
    const s = await sink(ch, [[x, 'a.*'], [x, 'a.#'], [x, '#']]);
    ch.publish(x, 'a.b', Buffer.from('once'));
    expect(await s.drain()).toEqual(['once']);
  });

  it('headers with x-match all, any, all-with-x, any-with-x', async () => {
    const ch = await channel(conn);
    const x = uniqueName('hx');
    await ch.assertExchange(x, 'headers', { autoDelete: true });
    const all = await sink(ch, [[x, '', { 'x-match': 'all', format: 'pdf', type: 'report' }]]);
    const any = await sink(ch, [[x, '', { 'x-match': 'any', format: 'pdf', type: 'report' }]]);
    const allX = await sink(ch, [[x, '', { 'x-match': 'all-with-x', 'x-tenant': 'a', format: 'pdf' }]]);
    const anyX = await sink(ch, [[x, '', { 'x-match': 'any-with-x', 'x-tenant': 'b' }]]);
    ch.publish(x, '', Buffer.from('both'), { headers: { format: 'pdf', type: 'report' } });
    ch.publish(x, '', Buffer.from('pdf'), { headers: { format: 'pdf' } });
    ch.publish(x, '', Buffer.from('tenant-a'), { headers: { format: 'pdf', 'x-tenant': 'a' } });
    ch.publish(x, '', Buffer.from('tenant-b'), { headers: { 'x-tenant': 'b' } });
    ch.publish(x, '', Buffer.from('none'), { headers: { other: 1 } });
    expect(await all.drain()).toEqual(['both']);
    expect(await any.drain()).toEqual(['both', 'pdf', 'tenant-a']);
    expect(await allX.drain()).toEqual(['tenant-a']);
    expect(await anyX.drain()).toEqual(['tenant-b']);
  });

  it('exchange-to-exchange bindings, and unbinding them', async () => {
    const ch = await channel(conn);
    const src = uniqueName('src');
    const dst = uniqueName('dst');
    await ch.assertExchange(src, 'topic', { autoDelete: false });
    await ch.assertExchange(dst, 'fanout', { autoDelete: false });
    await ch.bindExchange(dst, src, 'logs.#');
    const s = await sink(ch, [[dst, '']]);
    ch.publish(src, 'logs.app', Buffer.from('via-e2e'));
    ch.publish(src, 'metrics', Buffer.from('filtered'));
    expect(await s.drain()).toEqual(['via-e2e']);
    await ch.unbindExchange(dst, src, 'logs.#');
    ch.publish(src, 'logs.app', Buffer.from('after-unbind'));
    expect(await s.drain()).toEqual([]);
    await ch.deleteExchange(src);
    await ch.deleteExchange(dst);
  });

  it('alternate-exchange receives what the exchange cannot route', async () => {
    const ch = await channel(conn);
    const ae = uniqueName('ae');
    const x = uniqueName('main');
    await ch.assertExchange(ae, 'fanout', { autoDelete: true });
    await ch.assertExchange(x, 'direct', { autoDelete: true, alternateExchange: ae });
    const routed = await sink(ch, [[x, 'known']]);
    const unrouted = await sink(ch, [[ae, '']]);
    ch.publish(x, 'known', Buffer.from('k'));
    ch.publish(x, 'unknown', Buffer.from('u'));
    expect(await routed.drain()).toEqual(['k']);
    expect(await unrouted.drain()).toEqual(['u']);
  });

  it('refuses publishing to an internal exchange but routes through it from another exchange', async () => {
    const ch = await channel(conn);
    const internal = uniqueName('int');
    const front = uniqueName('front');
    await ch.assertExchange(internal, 'fanout', { internal: true, autoDelete: true });
    await ch.assertExchange(front, 'fanout', { autoDelete: true });
    await ch.bindExchange(internal, front, '');
    const s = await sink(ch, [[internal, '']]);
    ch.publish(front, '', Buffer.from('through'));
    expect(await s.drain()).toEqual(['through']);
    const closed = new Promise<Error>((res) => ch.once('error', res));
    ch.publish(internal, '', Buffer.from('direct'));
    expect(String(await closed)).toMatch(/ACCESS_REFUSED - cannot publish to internal exchange/);
  });

  it('answers with RabbitMQ reply texts for system and default exchanges', async () => {
    const ch = await channel(conn);
    expect(String(await ch.deleteExchange('amq.direct').catch((e: Error) => e))).toContain("ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed");
    const ch2 = await channel(conn);
    expect(String(await ch2.checkExchange('').catch((e: Error) => e))).toContain('ACCESS_REFUSED - operation not permitted on the default exchange');
    const ch3 = await channel(conn);
    const q = (await ch3.assertQueue('', { exclusive: true })).queue;
    expect(String(await ch3.bindQueue(q, 'amq.headers', '', { 'x-match': 'some' }).catch((e: Error) => e))).toContain(
      'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    );
  });

  it('an unknown exchange type is a connection error (503)', async () => {
    const c = await amqp.connect(target.url);
    const closed = new Promise<Error>((res) => c.once('error', res));
    const ch = await channel(c);
    ch.assertExchange(uniqueName('weird'), 'no-such-type').catch(() => undefined);
    expect(String(await closed)).toContain("COMMAND_INVALID - unknown exchange type 'no-such-type'");
  });

  it('passive declare of a missing exchange closes the channel with 404', async () => {
    const ch = await channel(conn);
    const name = uniqueName('missing');
    const err = await ch.checkExchange(name).catch((e: Error) => e);
    expect(String(err)).toContain(`NOT_FOUND - no exchange '${name}' in vhost '/'`);
    // The connection survives a channel error.
    const ch2 = await channel(conn);
    await ch2.checkExchange('amq.direct');
  });

  it('redeclaring with another type is inequivalent (406)', async () => {
    const ch = await channel(conn);
    const name = uniqueName('eq');
    await ch.assertExchange(name, 'direct', { autoDelete: true });
    await ch.assertExchange(name, 'direct', { autoDelete: true });
    const err = await ch.assertExchange(name, 'fanout', { autoDelete: true }).catch((e: Error) => e);
    expect(String(err)).toContain(`PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${name}' in vhost '/': received 'fanout' but current is 'direct'`);
  });

  it('auto-delete exchanges go when their last binding goes', async () => {
    const ch = await channel(conn);
    const x = uniqueName('ad');
    await ch.assertExchange(x, 'fanout', { autoDelete: true });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, x, '');
    await ch.checkExchange(x);
    await ch.unbindQueue(q, x, '');
    const err = await ch.checkExchange(x).catch((e: Error) => e);
    expect(String(err)).toContain('NOT_FOUND');
  });

  it('delete with if-unused refuses an exchange that has bindings', async () => {
    const ch = await channel(conn);
    const x = uniqueName('iu');
    await ch.assertExchange(x, 'fanout', { autoDelete: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, x, '');
    const err = await ch.deleteExchange(x, { ifUnused: true }).catch((e: Error) => e);
    expect(String(err)).toContain('PRECONDITION_FAILED');
    const ch2 = await channel(conn);
    await ch2.deleteExchange(x);
    expect(String(await ch2.checkExchange(x).catch((e: Error) => e))).toContain('NOT_FOUND');
  });

  it.runIf(process.env.RAILYARD_AMQP_URL === undefined)('x-delayed-message holds a message for x-delay ms', async () => {
    const ch = await channel(conn);
    const x = uniqueName('delayed');
    await ch.assertExchange(x, 'x-delayed-message', { autoDelete: true, arguments: { 'x-delayed-type': 'direct' } });
    const s = await sink(ch, [[x, 'k']]);
    const t0 = Date.now();
    ch.publish(x, 'k', Buffer.from('later'), { headers: { 'x-delay': 300 } });
    ch.publish(x, 'k', Buffer.from('now'));
    expect(await s.drain()).toEqual(['now']);
    const got = await new Promise<string>((res) => void ch.consume(s.q, (m) => res(m!.content.toString()), { noAck: true }));
    expect(got).toBe('later');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});
