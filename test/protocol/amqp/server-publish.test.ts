import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { PublishError, toBasicProperties } from '../../../src/protocol/amqp/index.js';
import { startEmbedded, type TestTarget } from './helpers.js';

// Publishing from inside the broker (schedules, management API) is Railyard's own: embedded only.
describe('publish from the broker', () => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await startEmbedded();
  });
  afterAll(async () => {
    await target.stop();
  });

  it('routes like basic.publish and resolves once a persistent message is stored', async () => {
    const conn = await amqp.connect(target.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('bp-durable', { durable: true });
    await ch.assertExchange('bp-fan', 'fanout');
    await ch.bindQueue('bp-durable', 'bp-fan', '');
    const door = target.door()!;
    const res = await door.publish('/', 'bp-fan', 'ignored', Buffer.from('hello'), toBasicProperties({ deliveryMode: 2, contentType: 'text/plain', headers: { origin: 'test' } }));
    expect(res).toEqual({ routed: true, rejected: 0 });
    const msg = await ch.get('bp-durable', { noAck: true });
    expect(msg && msg.content.toString()).toBe('hello');
    expect(msg && msg.properties).toMatchObject({ contentType: 'text/plain', deliveryMode: 2, headers: { origin: 'test' } });
    expect(await door.publish('/', 'amq.direct', 'nobody-bound', Buffer.from('x'))).toEqual({ routed: false, rejected: 0 });
    await conn.close();
  });

  it('refuses unknown vhosts and exchanges, and internal exchanges, with PublishError', async () => {
    const door = target.door()!;
    await expect(door.publish('/nope', 'amq.direct', 'k', Buffer.from('x'))).rejects.toBeInstanceOf(PublishError);
    await expect(door.publish('/', 'no-such-exchange', 'k', Buffer.from('x'))).rejects.toThrow(/no exchange 'no-such-exchange' in vhost '\/'/);
    const conn = await amqp.connect(target.url);
    const ch = await conn.createChannel();
    await ch.assertExchange('bp-internal', 'direct', { internal: true });
    await conn.close();
    await expect(door.publish('/', 'bp-internal', 'k', Buffer.from('x'))).rejects.toThrow(/internal exchange/);
  });
});
