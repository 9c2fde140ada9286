import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqplib from 'amqplib';
import type { Door } from '../../src/context.js';
import { startHttpDoor } from '../../src/http/index.js';
import { startAmqpDoor, type AmqpDoor } from '../../src/protocol/amqp/index.js';
import { startKafkaBroker, type TestKafkaBroker } from '../helpers/kafka-broker.js';
import { apiClient } from './helpers.js';
import { parsePrometheus } from './prom-parse.js';

type Rows = Array<Record<string, unknown>>;

describe('AMQP management on the HTTP door', () => {
  let kb: TestKafkaBroker;
  let amqp: AmqpDoor;
  let http: Door;
  let api: ReturnType<typeof apiClient>;
  let base: string;

  beforeAll(async () => {
    kb = await startKafkaBroker({ logLevel: 'silent' });
    amqp = await startAmqpDoor(kb.ctx);
    http = await startHttpDoor(kb.ctx, { doors: [['kafka', kb.door], ['amqp', amqp]], amqp });
    base = `http://127.0.0.1:${http.port}`;
    api = apiClient(base);
  });
  afterAll(async () => {
    await http?.close();
    await amqp?.close();
    await kb?.stop();
  });

  const connect = () => amqplib.connect(`amqp://127.0.0.1:${amqp.port}`);

  it('shows a queue\'s ready messages and consumers; 404 for unknown queues and vhosts', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('orders', { durable: true });
      for (let i = 0; i < 3; i++) ch.sendToQueue('orders', Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();
      const r = await api<Record<string, unknown>>('GET', '/api/amqp/queues/%2F/orders');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ vhost: '/', name: 'orders', durable: true, messages: 3, ready: 3, unacked: 0, consumers: 0, published: 3 });
      await ch.consume('orders', () => {}, { noAck: false });
      await new Promise((r) => setTimeout(r, 50));
      expect((await api<Record<string, unknown>>('GET', '/api/amqp/queues/%2F/orders')).body).toMatchObject({ consumers: 1, ready: 0, unacked: 3, delivered: 3 });
    } finally {
      await conn.close();
    }
    expect((await api('GET', '/api/amqp/queues/%2F/nope')).status).toBe(404);
    expect((await api('GET', '/api/amqp/queues/elsewhere/orders')).status).toBe(404);
  });

  it('lists vhosts, exchanges, queues and bindings with their flags and arguments', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createChannel();
      await ch.assertExchange('events', 'topic', { durable: false, autoDelete: false, arguments: { 'alternate-exchange': 'amq.fanout' } });
      await ch.assertQueue('audit', { durable: false, arguments: { 'x-max-length': 10 } });
      await ch.bindQueue('audit', 'events', 'order.*');
      expect((await api('GET', '/api/amqp/vhosts')).body).toEqual({ vhosts: [{ name: '/' }] });

      const xs = (await api<{ exchanges: Rows }>('GET', '/api/amqp/exchanges?vhost=%2F')).body.exchanges;
      expect(xs.find((x) => x.name === 'events')).toEqual({ vhost: '/', name: 'events', type: 'topic', durable: false, autoDelete: false, internal: false, arguments: { 'alternate-exchange': 'amq.fanout' } });
      expect(xs.some((x) => x.name === 'amq.direct')).toBe(true);

      const qs = (await api<{ queues: Rows }>('GET', '/api/amqp/queues')).body.queues;
      expect(qs.find((q) => q.name === 'audit')).toMatchObject({ vhost: '/', durable: false, exclusive: false, autoDelete: false, arguments: { 'x-max-length': 10 }, ready: 0, unacked: 0, consumers: 0, bytes: 0, rates: { publish: 0, deliver: 0, ack: 0 } });

      const bs = (await api<{ bindings: Rows }>('GET', '/api/amqp/bindings')).body.bindings;
      expect(bs).toContainEqual({ vhost: '/', source: 'events', destinationKind: 'queue', destination: 'audit', routingKey: 'order.*', arguments: {} });
      expect(bs).toContainEqual({ vhost: '/', source: '', destinationKind: 'queue', destination: 'audit', routingKey: 'audit', arguments: {} });

      const bad = await api('GET', '/api/amqp/queues?vhost=nowhere');
      expect(bad.status).toBe(404);
      expect(bad.body).toMatchObject({ error: 'not_found' });
    } finally {
      await conn.close();
    }
  });

  it('turns counters into per-second rates between samples', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('rated', { durable: false });
      await api('GET', '/api/amqp/queues?vhost=%2F');
      for (let i = 0; i < 20; i++) ch.sendToQueue('rated', Buffer.from('x'));
      await ch.waitForConfirms();
      await new Promise((r) => setTimeout(r, 1050));
      const q = (await api<{ queues: Rows }>('GET', '/api/amqp/queues')).body.queues.find((x) => x.name === 'rated')!;
      const rates = q.rates as { publish: number; deliver: number };
      // 20 messages over a bit more than the one-second sampling interval.
      expect(q.published).toBe(20);
      expect(rates.publish).toBeGreaterThan(0);
      expect(rates.publish).toBeLessThan(20);
      expect(rates.deliver).toBe(0);
    } finally {
      await conn.close();
    }
  });

  it('gets messages with requeue (kept in place, then redelivered) and with ack (removed)', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('peek', { durable: false });
      for (const m of ['a', 'b', 'c']) ch.sendToQueue('peek', Buffer.from(m), { contentType: 'text/plain', headers: { k: 'v' } });
      await ch.waitForConfirms();
      const r1 = await api<{ messages: Rows }>('POST', '/api/amqp/queues/%2F/peek/get', { count: 2, ackMode: 'requeue' });
      expect(r1.status).toBe(200);
      expect(r1.body.messages.map((m) => m.payload)).toEqual(['a', 'b']);
      expect(r1.body.messages[0]).toMatchObject({ exchange: '', routingKey: 'peek', redelivered: false, payloadEncoding: 'string', properties: { contentType: 'text/plain', headers: { k: 'v' } } });
      const first = await ch.get('peek', { noAck: true });
      expect(first && first.content.toString()).toBe('a');
      expect(first && first.fields.redelivered).toBe(true);
      const r2 = await api<{ messages: Rows }>('POST', '/api/amqp/queues/%2F/peek/get', { count: 5, ackMode: 'ack' });
      expect(r2.body.messages.map((m) => m.payload)).toEqual(['b', 'c']);
      expect(await ch.get('peek')).toBe(false);

      const bad = await api('POST', '/api/amqp/queues/%2F/peek/get', { count: 1, ackMode: 'maybe' });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ field: 'ackMode' });
      expect((await api('POST', '/api/amqp/queues/%2F/peek/get', { count: 0 })).body).toMatchObject({ field: 'count' });
      expect((await api('POST', '/api/amqp/queues/%2F/absent/get', { count: 1 })).status).toBe(404);
    } finally {
      await conn.close();
    }
  });

  it('publishes a test message through an exchange; 404 for an unknown exchange, 400 naming bad fields', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createChannel();
      await ch.assertExchange('direct-x', 'direct', { durable: false });
      await ch.assertQueue('pubq', { durable: false });
      await ch.bindQueue('pubq', 'direct-x', 'rk');
      const r = await api('POST', '/api/amqp/exchanges/%2F/direct-x/publish', { routingKey: 'rk', body: 'hello', properties: { contentType: 'text/plain', headers: { a: '1' } } });
      expect(r).toMatchObject({ status: 200, body: { routed: true } });
      expect((await api('POST', '/api/amqp/exchanges/%2F/direct-x/publish', { routingKey: 'other', body: 'x' })).body).toMatchObject({ routed: false });
      const m = await ch.get('pubq', { noAck: true });
      expect(m && m.content.toString()).toBe('hello');
      expect(m && m.properties.contentType).toBe('text/plain');
      expect(m && m.properties.headers).toMatchObject({ a: '1' });
      expect((await api('POST', '/api/amqp/exchanges/%2F/amq.default/publish', { routingKey: 'pubq', body: 'direct' })).body).toMatchObject({ routed: true });
      expect((await ch.get('pubq', { noAck: true })) && true).toBe(true);
      expect((await api('POST', '/api/amqp/exchanges/%2F/nope/publish', { routingKey: 'x', body: 'x' })).status).toBe(404);
      expect((await api('POST', '/api/amqp/exchanges/%2F/direct-x/publish', { routingKey: 3 })).body).toMatchObject({ field: 'routingKey' });
      expect((await api('POST', '/api/amqp/exchanges/%2F/direct-x/publish', { body: 'x', properties: { deliveryMode: 7 } })).body).toMatchObject({ field: 'properties.deliveryMode' });
    } finally {
      await conn.close();
    }
  });

  it('purges a queue (ready messages go, unacked stay with the consumer)', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('purgeme', { durable: true });
      for (let i = 0; i < 4; i++) ch.sendToQueue('purgeme', Buffer.from(String(i)), { persistent: true });
      await ch.waitForConfirms();
      const r = await api('POST', '/api/amqp/queues/%2F/purgeme/purge');
      expect(r).toMatchObject({ status: 200, body: { purged: 4 } });
      expect((await api('GET', '/api/amqp/queues/%2F/purgeme')).body).toMatchObject({ ready: 0 });
      expect((await api('POST', '/api/amqp/queues/%2F/gone/purge')).status).toBe(404);
    } finally {
      await conn.close();
    }
  });

  it('deletes a queue, cancelling its consumers; if-unused and if-empty answer 409', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('doomed', { durable: true });
      ch.sendToQueue('doomed', Buffer.from('x'));
      const cancelled = new Promise<unknown>((resolve) => void ch.consume('doomed', (m) => (m === null ? resolve(m) : ch.ack(m))));
      await new Promise((r) => setTimeout(r, 50));
      const inUse = await api('DELETE', '/api/amqp/queues/%2F/doomed?ifUnused=true');
      expect(inUse.status).toBe(409);
      expect(inUse.body).toMatchObject({ error: 'conflict' });
      expect((await api('DELETE', '/api/amqp/queues/%2F/doomed?ifUnused=maybe')).body).toMatchObject({ field: 'ifUnused' });
      const r = await api('DELETE', '/api/amqp/queues/%2F/doomed');
      expect(r).toMatchObject({ status: 200, body: { deleted: 'doomed' } });
      expect(await cancelled).toBeNull();
      expect((await api('GET', '/api/amqp/queues/%2F/doomed')).status).toBe(404);
      expect((await api('DELETE', '/api/amqp/queues/%2F/doomed')).status).toBe(404);

      await ch.assertQueue('full', { durable: false });
      ch.sendToQueue('full', Buffer.from('x'));
      await new Promise((r) => setTimeout(r, 50));
      expect((await api('DELETE', '/api/amqp/queues/%2F/full?ifEmpty=true')).status).toBe(409);
    } finally {
      await conn.close();
    }
  });

  it('lists connections with channels, and force-closes one with 320 CONNECTION_FORCED', async () => {
    const conn = await connect();
    // amqplib reports 320 as a 'close' with the error, not as an 'error' event.
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    const ch = await conn.createChannel();
    await ch.prefetch(7);
    await ch.assertQueue('cq', { durable: false });
    ch.sendToQueue('cq', Buffer.from('x'));
    await ch.consume('cq', () => {});
    await new Promise((r) => setTimeout(r, 50));
    const list = (await api<{ connections: Rows }>('GET', '/api/amqp/connections')).body.connections;
    const mine = list.find((c) => (c.channels as Rows).some((x) => x.prefetch === 7))!;
    expect(mine).toMatchObject({ user: 'guest', vhost: '/', remoteAddress: expect.stringContaining('127.0.0.1') });
    expect((mine.channels as Rows)[0]).toMatchObject({ id: 1, prefetch: 7, unacked: 1, consumers: 1 });
    const r = await api('DELETE', `/api/amqp/connections/${mine.id as string}?reason=${encodeURIComponent('go away')}`);
    expect(r.status).toBe(204);
    const err = await closed;
    expect(err.message).toContain('320');
    expect(err.message).toContain('go away');
    expect((await api('DELETE', `/api/amqp/connections/${mine.id as string}`)).status).toBe(404);
  });

  it('exports queue depth and message counters in /metrics', async () => {
    const conn = await connect();
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('metered', { durable: false });
      for (let i = 0; i < 2; i++) ch.sendToQueue('metered', Buffer.from('x'));
      await ch.waitForConfirms();
      const res = await fetch(`${base}/metrics`);
      const { samples } = parsePrometheus(await res.text());
      const find = (name: string) => samples.find((s) => s.name === name && s.labels.queue === 'metered' && s.labels.vhost === '/')?.value;
      expect(find('railyard_amqp_queue_messages_ready')).toBe(2);
      expect(find('railyard_amqp_queue_messages_unacked')).toBe(0);
      expect(find('railyard_amqp_queue_published_total')).toBe(2);
      expect(find('railyard_amqp_queue_delivered_total')).toBe(0);
      expect(find('railyard_amqp_queue_acked_total')).toBe(0);

      // One delivered and acked: the deliver and ack counters move, the depth drops.
      const got = await ch.get('metered', { noAck: false });
      expect(got).not.toBe(false);
      if (got !== false) ch.ack(got);
      await ch.checkQueue('metered'); // a round trip, so the ack has been handled
      const after = parsePrometheus(await (await fetch(`${base}/metrics`)).text()).samples;
      const again = (name: string) => after.find((s) => s.name === name && s.labels.queue === 'metered' && s.labels.vhost === '/')?.value;
      expect(again('railyard_amqp_queue_messages_ready')).toBe(1);
      expect(again('railyard_amqp_queue_delivered_total')).toBe(1);
      expect(again('railyard_amqp_queue_acked_total')).toBe(1);
    } finally {
      await conn.close();
    }
  });
});
