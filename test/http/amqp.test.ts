import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqplib from 'amqplib';
import type { Door } from '../../src/context.js';
import { startHttpDoor } from '../../src/http/index.js';
import { startAmqpDoor, type AmqpDoor } from '../../src/protocol/amqp/index.js';
import { startKafkaBroker, type TestKafkaBroker } from '../helpers/kafka-broker.js';
import { apiClient } from './helpers.js';

describe('AMQP queue views on the HTTP door', () => {
  let kb: TestKafkaBroker;
  let amqp: AmqpDoor;
  let http: Door;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    kb = await startKafkaBroker({ logLevel: 'silent' });
    amqp = await startAmqpDoor(kb.ctx);
    http = await startHttpDoor(kb.ctx, { doors: [['kafka', kb.door], ['amqp', amqp]], amqp });
    api = apiClient(`http://127.0.0.1:${http.port}`);
  });
  afterAll(async () => {
    await http?.close();
    await amqp?.close();
    await kb?.stop();
  });

  it('shows a queue\'s ready messages and consumers; 404 for unknown queues and vhosts', async () => {
    const conn = await amqplib.connect(`amqp://127.0.0.1:${amqp.port}`);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('orders', { durable: true });
      for (let i = 0; i < 3; i++) ch.sendToQueue('orders', Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();
      const r = await api<Record<string, unknown>>('GET', '/api/amqp/queues/%2F/orders');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ vhost: '/', name: 'orders', durable: true, messages: 3, consumers: 0 });
      await ch.consume('orders', () => {}, { noAck: false });
      expect((await api<Record<string, unknown>>('GET', '/api/amqp/queues/%2F/orders')).body).toMatchObject({ consumers: 1 });
    } finally {
      await conn.close();
    }
    expect((await api('GET', '/api/amqp/queues/%2F/nope')).status).toBe(404);
    expect((await api('GET', '/api/amqp/queues/elsewhere/orders')).status).toBe(404);
  });
});
