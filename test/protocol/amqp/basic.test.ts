import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import amqpCallback from 'amqplib/callback_api';
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

/** amqplib has no tx/flow API; its channel.rpc takes numeric method ids (class << 16 | method). */
const TX_SELECT = (90 << 16) | 10;
const TX_COMMIT = (90 << 16) | 20;
const TX_ROLLBACK = (90 << 16) | 30;
const CHANNEL_FLOW = (20 << 16) | 20;
function rpc(ch: amqp.Channel, method: number, fields: object, expect: number): Promise<unknown> {
  return (ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }).rpc(method, fields, expect);
}

function collect(ch: amqp.Channel, q: string, opts: amqp.Options.Consume = {}) {
  const msgs: amqp.ConsumeMessage[] = [];
  const tag = ch.consume(q, (m) => m && msgs.push(m), opts);
  return { msgs, tag };
}

describe('publish and consume', () => {
  it('round-trips all 14 basic properties and every header type', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const headers = {
      str: 'text',
      int: 42,
      neg: -7,
      big: 2 ** 40,
      dbl: 1.25,
      bool: true,
      nul: null,
      arr: [1, 'two', false],
      nested: { deep: { deeper: 'x' } },
      bin: Buffer.from([1, 2, 3]),
      b: { '!': 'int8', value: -3 },
      B: { '!': 'uint8', value: 200 },
      s: { '!': 'int16', value: -300 },
      u: { '!': 'uint16', value: 60000 },
      I: { '!': 'int32', value: -70000 },
      i: { '!': 'uint32', value: 3_000_000_000 },
      f: { '!': 'float', value: 0.5 },
      D: { '!': 'decimal', value: { places: 2, digits: 314 } },
      T: { '!': 'timestamp', value: 1_700_000_000 },
    };
    const props: amqp.Options.Publish = {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers,
      deliveryMode: 2,
      priority: 3,
      correlationId: 'c-1',
      replyTo: 'reply-q',
      expiration: '60000',
      messageId: 'm-1',
      timestamp: 1_700_000_001,
      type: 'test.event',
      userId: 'guest',
      appId: 'railyard-tests',
    };
    ch.sendToQueue(q, Buffer.from('{}'), props);
    const m = (await eventually(() => ch.get(q, { noAck: true }))) as amqp.GetMessage;
    const p = m.properties;
    expect(p).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, priority: 3, correlationId: 'c-1', replyTo: 'reply-q', expiration: '60000', messageId: 'm-1', timestamp: 1_700_000_001, type: 'test.event', userId: 'guest', appId: 'railyard-tests' });
    const h = p.headers!;
    expect(h).toMatchObject({ str: 'text', int: 42, neg: -7, big: 2 ** 40, dbl: 1.25, bool: true, nul: null, arr: [1, 'two', false], nested: { deep: { deeper: 'x' } }, b: -3, B: 200, s: -300, u: 60000, I: -70000, i: 3_000_000_000, f: 0.5 });
    expect(Buffer.from(h.bin as Buffer).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(h.D).toEqual({ '!': 'decimal', value: { places: 2, digits: 314 } });
    expect(h.T).toEqual({ '!': 'timestamp', value: 1_700_000_000 });
  });

  it('mandatory publishes with no route come back as basic.return 312 NO_ROUTE', async () => {
    const ch = await channel(conn);
    const returned = new Promise<amqp.Message>((res) => ch.once('return', res));
    ch.publish('amq.direct', uniqueName('nobody'), Buffer.from('lost'), { mandatory: true, messageId: 'r1' });
    const r = await returned;
    expect(r.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct' });
    expect(r.content.toString()).toBe('lost');
    expect(r.properties.messageId).toBe('r1');
  });

  it('publishing to a missing exchange closes the channel with 404', async () => {
    const ch = await channel(conn);
    const name = uniqueName('nx');
    const closed = new Promise<Error>((res) => ch.once('error', res));
    ch.publish(name, '', Buffer.from('x'));
    expect(String(await closed)).toContain(`NOT_FOUND - no exchange '${name}' in vhost '/'`);
  });

  it('round-robins between consumers and honours consumer tags and cancel', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const a = collect(ch, q, { noAck: true, consumerTag: 'tag-a' });
    const b = collect(ch, q, { noAck: true, consumerTag: 'tag-b' });
    expect((await a.tag).consumerTag).toBe('tag-a');
    await b.tag;
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await eventually(() => a.msgs.length + b.msgs.length === 4);
    expect(a.msgs.map((m) => m.content.toString())).toEqual(['0', '2']);
    expect(b.msgs.map((m) => m.fields.consumerTag)).toEqual(['tag-b', 'tag-b']);
    await ch.cancel('tag-a');
    ch.sendToQueue(q, Buffer.from('4'));
    await eventually(() => b.msgs.length === 3);
    expect(a.msgs).toHaveLength(2);
  });

  it('x-priority consumers get messages first', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const low = collect(ch, q, { noAck: true, priority: 1 });
    const high = collect(ch, q, { noAck: true, priority: 10 });
    await low.tag;
    await high.tag;
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await eventually(() => high.msgs.length === 3);
    expect(low.msgs).toHaveLength(0);
  });

  it('exclusive consumers lock out others (403) and consumer tags cannot be reused (530)', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.consume(q, () => undefined, { exclusive: true });
    const ch2 = await channel(conn);
    const err = await ch2.consume(q, () => undefined).catch((e: Error) => e);
    expect(String(err)).toContain(`ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`);
    const c2 = await amqp.connect(target.url);
    c2.on('error', () => undefined);
    const ch3 = await channel(c2);
    const q2 = (await ch3.assertQueue('', { exclusive: true })).queue;
    await ch3.consume(q2, () => undefined, { consumerTag: 'same' });
    const closed = new Promise<Error>((res) => c2.once('error', res));
    ch3.consume(q2, () => undefined, { consumerTag: 'same' }).catch(() => undefined);
    expect(String(await closed)).toContain('NOT_ALLOWED');
  });

  it('notifies consumers when their queue is deleted', async () => {
    const ch = await channel(conn);
    const name = uniqueName('cancelled');
    await ch.assertQueue(name, { durable: false });
    const cancelled = new Promise<null>((res) => void ch.consume(name, (m) => m === null && res(null)));
    const other = await channel(conn);
    await other.deleteQueue(name);
    expect(await cancelled).toBeNull();
  });

  it('basic.get and get-empty with message counts', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    expect(await ch.get(q)).toBe(false);
    ch.sendToQueue(q, Buffer.from('1'));
    ch.sendToQueue(q, Buffer.from('2'));
    const m = (await eventually(() => ch.get(q))) as amqp.GetMessage;
    expect(m.content.toString()).toBe('1');
    expect(m.fields.messageCount).toBe(1);
    ch.ack(m);
  });
});

describe('acknowledgements', () => {
  it('nack with requeue puts messages back at their original position, redelivered', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    for (const b of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(b));
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 4);
    const m1 = (await ch.get(q)) as amqp.GetMessage;
    const m2 = (await ch.get(q)) as amqp.GetMessage;
    ch.nack(m2, false, true);
    ch.nack(m1, false, true);
    const order: Array<[string, boolean]> = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (!m) break;
      order.push([m.content.toString(), m.fields.redelivered]);
    }
    expect(order).toEqual([['1', true], ['2', true], ['3', false], ['4', false]]);
  });

  it('ack multiple, reject, and unknown delivery tags (406)', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    for (const b of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(b));
    const c = collect(ch, q);
    await eventually(() => c.msgs.length === 4);
    ch.ack(c.msgs[2]!, true);
    ch.reject(c.msgs[3]!, false);
    await sleep(30);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    const closed = new Promise<Error>((res) => ch.once('error', res));
    ch.ack({ fields: { deliveryTag: 999 } } as amqp.Message);
    expect(String(await closed)).toContain('PRECONDITION_FAILED - unknown delivery tag 999');
  });

  it('unacknowledged messages return to the queue when the channel closes', async () => {
    const ch = await channel(conn);
    const name = uniqueName('unacked');
    await ch.assertQueue(name, { durable: false, autoDelete: false });
    const ch2 = await channel(conn);
    ch.sendToQueue(name, Buffer.from('m'));
    const c = collect(ch2, name);
    await eventually(() => c.msgs.length === 1);
    await ch2.close();
    const m = (await eventually(() => ch.get(name, { noAck: true }))) as amqp.GetMessage;
    expect(m.fields.redelivered).toBe(true);
    await ch.deleteQueue(name);
  });

  it('basic.recover redelivers everything unacknowledged', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from('a'));
    const c = collect(ch, q);
    await eventually(() => c.msgs.length === 1);
    await ch.recover();
    await eventually(() => c.msgs.length === 2);
    expect(c.msgs[1]!.fields.redelivered).toBe(true);
    ch.ack(c.msgs[1]!);
  });

  it('per-consumer prefetch limits each consumer; global prefetch limits the channel', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    await ch.prefetch(2);
    const a = collect(ch, q);
    const b = collect(ch, q);
    await sleep(50);
    expect([a.msgs.length, b.msgs.length]).toEqual([2, 2]);
    ch.ack(a.msgs[0]!);
    await eventually(() => a.msgs.length === 3);

    const ch2 = await channel(conn);
    const q2 = (await ch2.assertQueue('', { exclusive: true })).queue;
    for (let i = 0; i < 10; i++) ch2.sendToQueue(q2, Buffer.from(String(i)));
    await ch2.prefetch(3, true);
    const c = collect(ch2, q2);
    const d = collect(ch2, q2);
    await sleep(50);
    expect(c.msgs.length + d.msgs.length).toBe(3);
  });
});

describe('confirms and transactions', () => {
  it('confirms every publish, multiple acks included', async () => {
    const ch = await confirmChannel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    let acked = 0;
    for (let i = 0; i < 500; i++) ch.sendToQueue(q, Buffer.from(String(i)), {}, (err) => !err && acked++);
    await ch.waitForConfirms();
    expect(acked).toBe(500);
    expect((await ch.checkQueue(q)).messageCount).toBe(500);
  });

  it('tx commit publishes and acks; rollback discards', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from('pre'));
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 1);
    const pre = (await ch.get(q)) as amqp.GetMessage;
    await rpc(ch, TX_SELECT, {}, TX_SELECT + 1);
    ch.sendToQueue(q, Buffer.from('in-tx'));
    ch.ack(pre);
    await sleep(30);
    // Nothing is visible before commit: the new message is held and 'pre' is still unacked.
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    await rpc(ch, TX_COMMIT, {}, TX_COMMIT + 1);
    expect((await ch.checkQueue(q)).messageCount).toBe(1);
    ch.sendToQueue(q, Buffer.from('rolled-back'));
    await rpc(ch, TX_ROLLBACK, {}, TX_ROLLBACK + 1);
    expect((await ch.checkQueue(q)).messageCount).toBe(1);
    expect(((await ch.get(q, { noAck: true })) as amqp.GetMessage).content.toString()).toBe('in-tx');
  });

  it('tx.commit outside a transaction is a 406', async () => {
    const ch = await channel(conn);
    const err = await rpc(ch, TX_COMMIT, {}, TX_COMMIT + 1).catch((e: Error) => e);
    expect(String(err)).toContain('PRECONDITION_FAILED');
  });

  // RabbitMQ 3.x refuses client-sent channel.flow active=false with 540; Railyard honours it.
  it.runIf(process.env.RAILYARD_AMQP_URL === undefined)('channel.flow pauses and resumes deliveries', async () => {
    const ch = await channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const c = collect(ch, q, { noAck: true });
    await c.tag;
    await rpc(ch, CHANNEL_FLOW, { active: false }, CHANNEL_FLOW + 1);
    ch.sendToQueue(q, Buffer.from('held'));
    await sleep(50);
    expect(c.msgs).toHaveLength(0);
    await rpc(ch, CHANNEL_FLOW, { active: true }, CHANNEL_FLOW + 1);
    await eventually(() => c.msgs.length === 1);
  });

  it('direct reply-to delivers replies to the requester without a queue', async () => {
    const client = await channel(conn);
    const server = await channel(conn);
    const rpcQ = (await server.assertQueue('', { exclusive: true })).queue;
    await server.consume(rpcQ, (m) => {
      server.sendToQueue(m!.properties.replyTo as string, Buffer.from('pong:' + m!.content.toString()), { correlationId: m!.properties.correlationId });
      server.ack(m!);
    });
    const reply = new Promise<amqp.ConsumeMessage>((res) => void client.consume('amq.rabbitmq.reply-to', (m) => res(m!), { noAck: true }));
    await sleep(20);
    client.sendToQueue(rpcQ, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c42' });
    const r = await reply;
    expect(r.content.toString()).toBe('pong:ping');
    expect(r.properties.correlationId).toBe('c42');
  });

  it('works through the callback API', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      amqpCallback.connect(target.url, (err, c) => {
        if (err) return reject(err);
        c.createChannel((err2, ch) => {
          if (err2) return reject(err2);
          ch.assertQueue('', { exclusive: true }, (err3, ok) => {
            if (err3) return reject(err3);
            ch.sendToQueue(ok.queue, Buffer.from('callback'));
            ch.consume(ok.queue, (m) => {
              ch.ack(m!);
              c.close(() => resolve(m!.content.toString()));
            });
          });
        });
      });
    });
    expect(got).toBe('callback');
  });
});
