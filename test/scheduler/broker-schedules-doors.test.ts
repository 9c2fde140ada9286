import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { startBroker, type Broker } from '../../src/index.js';
import type { RailyardWorker } from '../helpers/railyard-bullmq.js';

const { Kafka, logLevel } = kafkajs;

describe('broker schedules from the config emit to Kafka', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({
      schedules: [{ name: 'tick', expression: '* * * * * *', target: { type: 'kafka', topic: 'ticks', key: '{{name}}', value: 'tick at {{slot}}' } }],
    });
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('a kafkajs consumer reads the records a per-second schedule produces', async () => {
    const kafka = new Kafka({ brokers: [broker.kafka.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'tick-readers', sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 3000 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'ticks', fromBeginning: true });
    const got: Array<{ key: string; value: string }> = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key!.toString(), value: message.value!.toString() });
          if (got.length === 2) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(got.map((g) => g.key)).toEqual(['tick', 'tick']);
    const slots = got.map((g) => Date.parse(g.value.replace('tick at ', '')));
    // One record per slot, on whole seconds, one second apart.
    expect(slots.every((s) => s % 1000 === 0)).toBe(true);
    expect(slots[1]! - slots[0]!).toBe(1000);
  }, 20_000);

  it('rejects an invalid definition at start, naming it', async () => {
    await expect(startBroker({ schedules: [{ name: 'bad', expression: '* * * * * * * *', target: { type: 'kafka', topic: 't', value: 'x' } }] })).rejects.toThrow(/schedules\[0\]/);
  });
});

describe('broker schedules emit to AMQP', () => {
  it('an amqplib consumer gets the messages a per-second schedule publishes to an exchange', async () => {
    const amqp = (await import('amqplib')).default;
    const broker = await startBroker({
      schedules: [{ name: 'beat', expression: '* * * * * *', target: { type: 'amqp', exchange: 'amq.topic', routingKey: 'beats.{{name}}', body: 'beat at {{slot}}', contentType: 'text/plain' } }],
    });
    try {
      const conn = await amqp.connect(broker.amqp.url);
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, 'amq.topic', 'beats.#');
      const got = await new Promise<Array<{ key: string; body: string; type?: string; schedule: unknown }>>((resolve) => {
        const seen: Array<{ key: string; body: string; type?: string; schedule: unknown }> = [];
        void ch.consume(queue, (m) => {
          if (!m) return;
          seen.push({ key: m.fields.routingKey, body: m.content.toString(), type: m.properties.contentType, schedule: m.properties.headers?.['railyard-schedule'] });
          ch.ack(m);
          if (seen.length === 2) resolve(seen);
        });
      });
      await conn.close();
      expect(got.map((g) => [g.key, g.type, String(g.schedule)])).toEqual([
        ['beats.beat', 'text/plain', 'beat'],
        ['beats.beat', 'text/plain', 'beat'],
      ]);
      const slots = got.map((g) => Date.parse(g.body.replace('beat at ', '')));
      expect(slots[1]! - slots[0]!).toBe(1000);
    } finally {
      await broker.stop();
    }
  }, 20_000);
});

describe('broker schedules add jobs', () => {
  it('a BullMQ worker on the same data dir processes the jobs a per-second schedule adds', async () => {
    const { Worker } = await import('bullmq');
    const { createRailyardBackend } = await import('../../src/jobs.js');
    const broker = await startBroker({
      schedules: [{ name: 'nightly-report', expression: '* * * * * *', target: { type: 'job', queue: 'reports', name: 'build-{{name}}', data: { slot: '{{slot}}', pages: 3 } } }],
    });
    try {
      const seen: Array<{ name: string; data: { slot: string; pages: number } }> = [];
      let worker: RailyardWorker | undefined;
      await new Promise<void>((resolve) => {
        worker = new Worker(
          'reports',
          async (job) => {
            seen.push({ name: job.name, data: job.data as { slot: string; pages: number } });
            if (seen.length === 2) resolve();
            return 'done';
          },
          { connection: { dataDir: broker.dataDir } },
          createRailyardBackend,
        );
      });
      await worker!.close();
      expect(seen.map((s) => [s.name, s.data.pages])).toEqual([
        ['build-nightly-report', 3],
        ['build-nightly-report', 3],
      ]);
      expect(Date.parse(seen[1]!.data.slot) - Date.parse(seen[0]!.data.slot)).toBe(1000);
    } finally {
      await broker.stop();
    }
  }, 20_000);
});
