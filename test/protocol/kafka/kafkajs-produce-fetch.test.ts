import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { startBroker, type Broker } from '../../../src/index.js';
import type { FetchResponse } from '../../../src/protocol/kafka/generated/index.js';
import { decodeRecordBatches } from '../../../src/log/index.js';
import { RawKafkaClient } from '../../helpers/kafka-raw.js';
import { roundTrip } from '../../helpers/kafka-codec-client.js';

const TOPIC = 'e2e-orders';
const PARTITIONS = 3;

let broker: Broker;
let kafka: Kafka;
let producer: Producer;
const consumers: Consumer[] = [];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', kafka: { defaultPartitions: PARTITIONS } });
  kafka = new Kafka({ clientId: 'railyard-e2e', brokers: [broker.kafka.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  await producer?.disconnect().catch(() => undefined);
  await broker?.stop();
});

function waitFor(cond: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`gave up waiting for ${what}`));
    }, 25_000);
    const poll = setInterval(() => {
      if (cond()) {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      }
    }, 10);
  });
}

describe('kafkajs against the broker', () => {
  it('produces 1000 messages (plain and gzip) over 3 partitions and consumes them in order from the beginning', async () => {
    // 10 sends of 100 messages, alternating plain and gzip, round-robin over the partitions
    const sent: string[][] = [[], [], []];
    for (let round = 0; round < 10; round++) {
      const compression = round % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP;
      const messages = [];
      for (let i = 0; i < 100; i++) {
        const seq = round * 100 + i;
        const partition = seq % PARTITIONS;
        const value = `p${partition}-${seq}`;
        sent[partition]!.push(value);
        messages.push({ key: `k${seq}`, value, partition });
      }
      await producer.send({ topic: TOPIC, messages, compression, acks: -1 });
    }

    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(TOPIC);
      const byPartition = offsets.sort((a, b) => a.partition - b.partition);
      expect(byPartition.map((o) => [o.partition, Number(o.low), Number(o.high)])).toEqual(sent.map((s, p) => [p, 0, s.length]));
    } finally {
      await admin.disconnect();
    }

    const received: string[][] = [[], [], []];
    const consumer = kafka.consumer({ groupId: 'e2e-group', maxWaitTimeInMs: 500 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received[partition]!.push(message.value!.toString());
      },
    });
    await waitFor(() => received.reduce((n, r) => n + r.length, 0) >= 1000, 'all 1000 messages');
    expect(received).toEqual(sent);

    // a message produced while the consumer idles in a long poll reaches it
    await producer.send({ topic: TOPIC, messages: [{ value: 'late', partition: 1 }] });
    await waitFor(() => received[1]!.includes('late'), 'the late message');
    expect(received[1]!.at(-1)).toBe('late');
  });

  it('an idempotent producer gets a producer id and its batches are stored once', async () => {
    const topic = 'e2e-idempotent';
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await idem.connect();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await idem.send({ topic, acks: -1, messages: [{ value: `a${i}`, partition: 0 }, { value: `b${i}`, partition: 0 }] });
        expect(res[0]!.errorCode).toBe(0);
        expect(Number(res[0]!.baseOffset)).toBe(i * 2);
      }
    } finally {
      await idem.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [p0] = await admin.fetchTopicOffsets(topic);
      expect(Number(p0!.high)).toBe(6);
    } finally {
      await admin.disconnect();
    }
  });

  it('a Fetch long poll parked at the log end is answered by the next produce, not by its maxWaitMs', async () => {
    const topic = 'e2e-longpoll';
    await producer.send({ topic, messages: [{ value: 'first', partition: 0 }] });
    const raw = await RawKafkaClient.connect(broker.kafka.port);
    try {
      // maxWaitMs far beyond the test timeout: only the wake-up on append can answer in time
      const pending = roundTrip<FetchResponse>(raw, 1, 11, 7, {
        replicaId: -1,
        maxWaitMs: 120_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }] }],
      });
      await new Promise((r) => setTimeout(r, 50));
      await producer.send({ topic, messages: [{ value: 'wake-up', partition: 0 }] });
      const res = await pending;
      const part = res.responses[0]!.partitions[0]!;
      expect(part.errorCode).toBe(0);
      const values = decodeRecordBatches(part.records!).flatMap((b) => b.records.map((r) => r.value!.toString()));
      expect(values).toEqual(['wake-up']);
    } finally {
      raw.socket.destroy();
    }
  });
});
