import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { channel, eventually, sleep, startEmbedded, type TestTarget } from './helpers.js';

// Alarms are steered through the embedded door; an external broker cannot be made to raise one on cue.
const embedded = process.env.RAILYARD_AMQP_URL === undefined;
let target: TestTarget;

beforeAll(async () => {
  if (embedded) target = await startEmbedded({}, undefined, { alarms: { intervalMs: 50 } });
});
afterAll(async () => {
  if (embedded) await target.stop();
});

describe.runIf(embedded)('resource alarms', () => {
  it('blocks publishers with connection.blocked and releases them with connection.unblocked', async () => {
    const pubConn = await amqp.connect(target.url);
    const subConn = await amqp.connect(target.url);
    const pub = await channel(pubConn);
    const sub = await channel(subConn);
    const q = (await sub.assertQueue('', { exclusive: true })).queue;
    pub.sendToQueue(q, Buffer.from('before'));
    await eventually(async () => (await sub.checkQueue(q)).messageCount === 1);

    const blocked = new Promise<string>((res) => pubConn.once('blocked', res));
    const unblocked = new Promise<void>((res) => pubConn.once('unblocked', () => res()));
    target.door()!.setMemoryHighWatermark(1);
    pub.sendToQueue(q, Buffer.from('during'));
    expect(await blocked).toBe('low on memory');
    // The publish that ran into the alarm is taken (as RabbitMQ does); after it the publisher is not read.
    pub.sendToQueue(q, Buffer.from('held'));
    await sleep(100);
    // A consumer on another connection still drains the queue meanwhile.
    const got = [];
    for (let m = await sub.get(q, { noAck: true }); m; m = await sub.get(q, { noAck: true })) got.push(m.content.toString());
    expect(got).toEqual(['before', 'during']);

    target.door()!.setMemoryHighWatermark(Number.MAX_SAFE_INTEGER);
    await unblocked;
    const later = (await eventually(() => sub.get(q, { noAck: true }))) as amqp.GetMessage;
    expect(later.content.toString()).toBe('held');
    await pubConn.close();
    await subConn.close();
  });
});
