import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { channel, confirmChannel, eventually, sleep, startTarget, uniqueName, type TestTarget } from './helpers.js';

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

async function drain(ch: amqp.Channel, q: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) return out;
    out.push(m);
  }
}
const bodies = (ms: Array<{ content: Buffer }>) => ms.map((m) => m.content.toString());

describe('queue declaration', () => {
  it('server-named queues get amq.gen- names', async () => {
    const ch = await channel(conn);
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
    expect(q).toMatchObject({ messageCount: 0, consumerCount: 0 });
  });

  it('declare-ok counts messages and consumers; passive declare of a missing queue is 404', async () => {
    const ch = await channel(conn);
    const name = uniqueName('q');
    await ch.assertQueue(name, { autoDelete: false, durable: false });
    ch.sendToQueue(name, Buffer.from('1'));
    ch.sendToQueue(name, Buffer.from('2'));
    await eventually(async () => (await ch.checkQueue(name)).messageCount === 2);
    await ch.deleteQueue(name);
    const err = await ch.checkQueue(name).catch((e: Error) => e);
    expect(String(err)).toContain(`NOT_FOUND - no queue '${name}' in vhost '/'`);
  });

  it('refuses reserved amq.* names and inequivalent redeclares', async () => {
    const ch = await channel(conn);
    expect(String(await ch.assertQueue('amq.mine').catch((e: Error) => e))).toContain("ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'");
    const ch2 = await channel(conn);
    const name = uniqueName('eq');
    await ch2.assertQueue(name, { durable: false, autoDelete: true });
    const err = await ch2.assertQueue(name, { durable: true, autoDelete: true }).catch((e: Error) => e);
    expect(String(err)).toContain(`PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${name}' in vhost '/': received 'true' but current is 'false'`);
  });

  it('exclusive queues are locked to their connection and deleted with it', async () => {
    const other = await amqp.connect(target.url);
    const och = await channel(other);
    const name = uniqueName('excl');
    await och.assertQueue(name, { exclusive: true });
    const ch = await channel(conn);
    const err = await ch.checkQueue(name).catch((e: Error) => e);
    expect(String(err)).toMatch(/RESOURCE_LOCKED - cannot obtain exclusive access to locked queue/);
    await other.close();
    const ch2 = await channel(conn);
    await eventually(async () => String(await ch2.checkQueue(name).catch((e: Error) => e)).includes('NOT_FOUND'));
  });

  it('auto-delete queues go when their last consumer leaves', async () => {
    const ch = await channel(conn);
    const name = uniqueName('ad');
    await ch.assertQueue(name, { autoDelete: true, durable: false });
    const { consumerTag } = await ch.consume(name, () => undefined);
    await ch.checkQueue(name);
    await ch.cancel(consumerTag);
    const err = await ch.checkQueue(name).catch((e: Error) => e);
    expect(String(err)).toContain('NOT_FOUND');
  });

  it('purge and delete with if-unused / if-empty', async () => {
    const ch = await channel(conn);
    const name = uniqueName('pd');
    await ch.assertQueue(name, { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(name, Buffer.from(String(i)));
    await eventually(async () => (await ch.checkQueue(name)).messageCount === 3);
    expect((await ch.purgeQueue(name)).messageCount).toBe(3);
    ch.sendToQueue(name, Buffer.from('x'));
    await eventually(async () => (await ch.checkQueue(name)).messageCount === 1);
    const e1 = await ch.deleteQueue(name, { ifEmpty: true }).catch((e: Error) => e);
    expect(String(e1)).toContain(`PRECONDITION_FAILED - queue '${name}' in vhost '/' not empty`);
    const ch2 = await channel(conn);
    await ch2.consume(name, () => undefined);
    const ch3 = await channel(conn);
    const e2 = await ch3.deleteQueue(name, { ifUnused: true }).catch((e: Error) => e);
    expect(String(e2)).toContain(`PRECONDITION_FAILED - queue '${name}' in vhost '/' in use`);
    const ch4 = await channel(conn);
    expect((await ch4.deleteQueue(name)).messageCount).toBe(0);
  });

  it('ignores x-queue-mode', async () => {
    const ch = await channel(conn);
    const q = await ch.assertQueue('', { exclusive: true, arguments: { 'x-queue-mode': 'lazy' } });
    ch.sendToQueue(q.queue, Buffer.from('lazy'));
    await eventually(async () => (await ch.checkQueue(q.queue)).messageCount === 1);
  });
});

describe('queue arguments', () => {
  it('x-message-ttl and per-message expiration drop old messages', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, messageTtl: 100 })).queue;
    ch.sendToQueue(q, Buffer.from('old'));
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '10' });
    await sleep(200);
    ch.sendToQueue(q, Buffer.from('fresh'));
    expect(bodies(await drain(ch, q))).toEqual(['fresh']);
  });

  it('rejects a non-numeric expiration with 406', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const closed = new Promise<Error>((res) => ch.once('close', () => res(new Error('closed'))));
    ch.sendToQueue(q, Buffer.from('x'), { expiration: 'soon' });
    await closed;
  });

  it('x-expires deletes an unused queue', async () => {
    const ch = await channel(conn);
    const name = uniqueName('exp');
    await ch.assertQueue(name, { expires: 150, durable: false });
    await ch.checkQueue(name);
    await sleep(400);
    expect(String(await ch.checkQueue(name).catch((e: Error) => e))).toContain('NOT_FOUND');
  });

  it('x-max-length drops from the head by default', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, maxLength: 2 })).queue;
    for (const b of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(b));
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 2);
    expect(bodies(await drain(ch, q))).toEqual(['3', '4']);
  });

  it('x-max-length-bytes counts body bytes', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-length-bytes': 10 } })).queue;
    for (const b of ['aaaa', 'bbbb', 'cccc']) ch.sendToQueue(q, Buffer.from(b));
    await sleep(50);
    expect(bodies(await drain(ch, q))).toEqual(['bbbb', 'cccc']);
  });

  it('x-overflow reject-publish nacks what does not fit', async () => {
    const ch = await confirmChannel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })).queue;
    const results = await Promise.all(
      ['kept', 'refused'].map((b) => new Promise<string>((res) => ch.sendToQueue(q, Buffer.from(b), {}, (err) => res(err ? 'nack' : 'ack')))),
    );
    expect(results).toEqual(['ack', 'nack']);
    expect(bodies(await drain(ch, q))).toEqual(['kept']);
  });

  it('dead-letters rejected, expired and overflowed messages with x-death', async () => {
    const ch = await channel(conn);
    const dlx = uniqueName('dlx');
    await ch.assertExchange(dlx, 'fanout', { autoDelete: true });
    const dead = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(dead, dlx, '');
    const src = uniqueName('src');
    await ch.assertQueue(src, { exclusive: true, deadLetterExchange: dlx, arguments: { 'x-max-length': 2 } });
    ch.sendToQueue(src, Buffer.from('expired'), { expiration: '20' });
    await sleep(60);
    ch.sendToQueue(src, Buffer.from('rejected'));
    const m = await eventually(() => ch.get(src));
    ch.reject(m as amqp.GetMessage, false);
    for (const b of ['a', 'b', 'c']) ch.sendToQueue(src, Buffer.from(b));
    await sleep(60);
    const got = await drain(ch, dead);
    expect(bodies(got)).toEqual(['expired', 'rejected', 'a']);
    const deaths = got.map((g) => g.properties.headers!['x-death']![0]!);
    expect(deaths.map((d) => d.reason)).toEqual(['expired', 'rejected', 'maxlen']);
    expect(deaths[0]).toMatchObject({ queue: src, count: 1, exchange: '', 'routing-keys': [src], 'original-expiration': '20' });
    expect(got[0]!.properties.expiration).toBeUndefined();
    expect(got[1]!.properties.headers!['x-first-death-reason']).toBe('rejected');
    expect(got[0]!.fields.exchange).toBe(dlx);
  });

  it('drops messages caught in a dead-letter cycle without rejections, counts deaths otherwise', async () => {
    const ch = await channel(conn);
    const a = uniqueName('cycle-a');
    const b = uniqueName('cycle-b');
    await ch.assertQueue(a, { exclusive: true, messageTtl: 20, deadLetterExchange: '', deadLetterRoutingKey: b });
    await ch.assertQueue(b, { exclusive: true, messageTtl: 20, deadLetterExchange: '', deadLetterRoutingKey: a });
    ch.sendToQueue(a, Buffer.from('round'));
    await sleep(250);
    expect((await ch.checkQueue(a)).messageCount + (await ch.checkQueue(b)).messageCount).toBe(0);

    // A rejection breaks the cycle: the message comes back, and x-death counts each trip.
    const r = uniqueName('reject-loop');
    await ch.assertQueue(r, { exclusive: true, deadLetterExchange: '', deadLetterRoutingKey: r });
    ch.sendToQueue(r, Buffer.from('again'));
    for (let i = 0; i < 2; i++) {
      const m = (await eventually(() => ch.get(r))) as amqp.GetMessage;
      ch.reject(m, false);
    }
    const m = (await eventually(() => ch.get(r, { noAck: true }))) as amqp.GetMessage;
    const deaths = m.properties.headers!['x-death']!;
    expect(deaths).toHaveLength(1);
    expect(deaths[0]).toMatchObject({ queue: r, reason: 'rejected', count: 2 });
  });

  it('x-dead-letter-routing-key replaces the routing key', async () => {
    const ch = await channel(conn);
    const target2 = uniqueName('dlq');
    await ch.assertQueue(target2, { exclusive: true });
    const src = (await ch.assertQueue('', { exclusive: true, deadLetterExchange: '', deadLetterRoutingKey: target2 })).queue;
    ch.sendToQueue(src, Buffer.from('x'));
    const m = await eventually(() => ch.get(src));
    ch.nack(m as amqp.GetMessage, false, false);
    const d = await eventually(() => ch.get(target2, { noAck: true }));
    expect((d as amqp.GetMessage).fields.routingKey).toBe(target2);
  });

  it('x-max-priority delivers higher priorities first', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, maxPriority: 10 })).queue;
    ch.sendToQueue(q, Buffer.from('p1'), { priority: 1 });
    ch.sendToQueue(q, Buffer.from('p0'));
    ch.sendToQueue(q, Buffer.from('p9'), { priority: 9 });
    ch.sendToQueue(q, Buffer.from('p200'), { priority: 200 });
    ch.sendToQueue(q, Buffer.from('p9b'), { priority: 9 });
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 5);
    expect(bodies(await drain(ch, q))).toEqual(['p200', 'p9', 'p9b', 'p1', 'p0']);
  });

  it('validates queue arguments with RabbitMQ reply texts', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ 'x-max-length': -1 }, "invalid arg 'x-max-length' for queue '%' in vhost '/': {value_negative,-1}"],
      [{ 'x-message-ttl': 'abc' }, "invalid arg 'x-message-ttl' for queue '%' in vhost '/': \"expected integer, got longstr\""],
      [{ 'x-overflow': 'nope' }, "invalid arg 'x-overflow' for queue '%' in vhost '/': invalid_overflow"],
    ];
    for (const [args, text] of bad) {
      const ch = await channel(conn);
      const name = uniqueName('badarg');
      const err = await ch.assertQueue(name, { exclusive: true, arguments: args }).catch((e: Error) => e);
      expect(String(err)).toContain('PRECONDITION_FAILED - ' + text.replace('%', name));
    }
  });

  it('refuses x-max-priority above 255', async () => {
    const ch = await channel(conn);
    const err = await ch.assertQueue('', { exclusive: true, maxPriority: 256 }).catch((e: Error) => e);
    expect(String(err)).toContain('PRECONDITION_FAILED');
  });

  it('x-single-active-consumer delivers to one consumer until it leaves', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-single-active-consumer': true } })).queue;
    const seen: string[] = [];
    const a = await ch.consume(q, (m) => seen.push('a:' + m!.content.toString()), { noAck: true });
    await ch.consume(q, (m) => seen.push('b:' + m!.content.toString()), { noAck: true });
    for (const b of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(b));
    await eventually(() => seen.length === 3);
    await ch.cancel(a.consumerTag);
    ch.sendToQueue(q, Buffer.from('4'));
    await eventually(() => seen.length === 4);
    expect(seen).toEqual(['a:1', 'a:2', 'a:3', 'b:4']);
  });
});
