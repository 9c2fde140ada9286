import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../../src/index.js';
import { roundTrip } from '../../helpers/kafka-codec-client.js';
import { RawKafkaClient } from '../../helpers/kafka-raw.js';
import { FIXTURES, describeClient, findKcat, findPython, lastJson, run } from '../../helpers/kafka-stock-clients.js';

const kcat = findKcat();
const confluentPython = findPython('confluent_kafka');
const kafkaPython = findPython('kafka');

const COMPRESSION = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/** Starts a whole broker on free ports (clients connect to `localhost`, so both loopbacks are exercised). */
function useBroker(): () => Broker {
  let broker: Broker | undefined;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });
  return () => broker!;
}

interface FetchedPartition {
  highWatermark: number;
  records: Buffer | null;
}

/** Reads partition 0 from offset 0 with a raw Fetch v4 and returns the stored batches as they are on the wire. */
async function fetchRaw(port: number, topic: string): Promise<FetchedPartition> {
  const c = await RawKafkaClient.connect(port);
  try {
    const res = await roundTrip<{ responses: Array<{ partitions: FetchedPartition[] }> }>(c, 1, 4, 1, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 16 << 20,
      isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 16 << 20 }] }],
    });
    return res.responses[0]!.partitions[0]!;
  } finally {
    c.close();
  }
}

/** Compression codec of every record batch (attributes & 7; the attributes sit at byte 21 of a v2 batch). */
function batchCodecs(records: Buffer): number[] {
  const codecs: number[] = [];
  for (let at = 0; at + 61 <= records.length; ) {
    const length = records.readInt32BE(at + 8);
    codecs.push(records.readInt16BE(at + 21) & 7);
    at += 12 + length;
  }
  return codecs;
}

describeClient('kcat (librdkafka 2.0.2)', kcat !== null, 'kcat is not installed (Debian package kcat)', () => {
  const broker = useBroker();
  const k = () => kcat!;

  it('lists metadata with -L', async () => {
    const { stdout } = await run(k(), ['-b', broker().kafka.bootstrap, '-L', '-m', '10']);
    expect(stdout).toMatch(/1 brokers:/);
    expect(stdout).toMatch(/broker 0 at .*:\d+ \(controller\)/);
  });

  it('produces 500 lines with -P and reads them back with -C -e', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
    await run(k(), ['-b', broker().kafka.bootstrap, '-P', '-t', 'kcat-roundtrip'], { input: lines.join('\n') + '\n' });
    const { stdout } = await run(k(), ['-b', broker().kafka.bootstrap, '-C', '-t', 'kcat-roundtrip', '-o', 'beginning', '-e', '-q']);
    expect(stdout.trim().split('\n')).toEqual(lines);
  });

  for (const codec of Object.keys(COMPRESSION) as Array<keyof typeof COMPRESSION>) {
    it(`produces ${codec}-compressed batches with -z ${codec} and reads them back`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 200 }, (_, i) => `${codec} message ${i} ${'x'.repeat(i % 50)}`);
      await run(k(), ['-b', broker().kafka.bootstrap, '-P', '-t', topic, '-z', codec], { input: lines.join('\n') + '\n' });
      // librdkafka silently sends uncompressed if it thinks the broker can't take the codec: check what was stored.
      const fetched = await fetchRaw(broker().kafka.port, topic);
      expect(fetched.highWatermark).toBe(200);
      const codecs = batchCodecs(fetched.records!);
      expect(codecs.length).toBeGreaterThan(0);
      expect(new Set(codecs)).toEqual(new Set([COMPRESSION[codec]]));
      const { stdout } = await run(k(), ['-b', broker().kafka.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
      expect(stdout.trim().split('\n')).toEqual(lines);
    });
  }

  it('consumes as a group member with -G and commits the group offsets', async () => {
    const bootstrap = broker().kafka.bootstrap;
    const lines = Array.from({ length: 100 }, (_, i) => `g${i}`);
    await run(k(), ['-b', bootstrap, '-P', '-t', 'kcat-group'], { input: lines.join('\n') + '\n' });
    const { stdout } = await run(k(), ['-b', bootstrap, '-G', 'kcat-group-1', '-X', 'auto.offset.reset=earliest', '-e', '-q', 'kcat-group']);
    expect(stdout.trim().split('\n')).toEqual(lines);
    const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // kcat commits on close (enable.auto.commit); the group's offset is past the last message.
      const offsets = await admin.fetchOffsets({ groupId: 'kcat-group-1', topics: ['kcat-group'] });
      expect(offsets[0]!.partitions[0]!.offset).toBe('100');
    } finally {
      await admin.disconnect();
    }
  });
});

describeClient('confluent-kafka-python 1.7 (librdkafka)', confluentPython !== null, 'python3 cannot import confluent_kafka (Debian package python3-confluent-kafka)', () => {
  const broker = useBroker();
  const script = join(FIXTURES, 'confluent_client.py');

  it('produces', async () => {
    const { stdout } = await run(confluentPython!, [script, 'produce', broker().kafka.bootstrap, 'ck-plain', '300']);
    expect(lastJson(stdout)).toEqual({ delivered: 300, firstOffset: 0, lastOffset: 299 });
  });

  it('produces idempotently (enable.idempotence)', async () => {
    const { stdout } = await run(confluentPython!, [script, 'produce', broker().kafka.bootstrap, 'ck-idempotent', '300', 'idempotent']);
    expect(lastJson(stdout)).toEqual({ delivered: 300, firstOffset: 0, lastOffset: 299 });
    // Stored as idempotent batches: a producer id and sequence numbers in every batch header.
    const fetched = await fetchRaw(broker().kafka.port, 'ck-idempotent');
    const records = fetched.records!;
    expect(fetched.highWatermark).toBe(300);
    const producerId = records.readInt32BE(43) * 2 ** 32 + records.readUInt32BE(47);
    expect(producerId).toBeGreaterThanOrEqual(0);
    expect(records.readInt32BE(53)).toBe(0); // first batch's base sequence
  });

  it('consumes in a group and commits', async () => {
    const { stdout } = await run(confluentPython!, [script, 'consume', broker().kafka.bootstrap, 'ck-plain', 'ck-group', '300']);
    const res = lastJson<{ values: string[]; committed: number }>(stdout);
    expect(res.values).toEqual(Array.from({ length: 300 }, (_, i) => `v${i}`));
    expect(res.committed).toBe(300);
  });
});

describeClient('kafka-python 2.0.2', kafkaPython !== null, 'python3 cannot import kafka (Debian package python3-kafka)', () => {
  const broker = useBroker();
  const script = join(FIXTURES, 'kafka_python_client.py');

  it('produces (inferring broker version 2.3 from ApiVersions v0)', async () => {
    const { stdout } = await run(kafkaPython!, [script, 'produce', broker().kafka.bootstrap, 'kp-topic', '200']);
    expect(lastJson(stdout)).toEqual({ delivered: 200, firstOffset: 0, lastOffset: 199, apiVersion: [2, 3, 0] });
  });

  it('consumes in a group and commits', async () => {
    const { stdout } = await run(kafkaPython!, [script, 'consume', broker().kafka.bootstrap, 'kp-topic', 'kp-group', '200']);
    const res = lastJson<{ values: string[]; committed: number }>(stdout);
    expect(res.values).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
    expect(res.committed).toBe(200);
  });
});

describeClient('kafkajs 2.2.4', true, '', () => {
  const broker = useBroker();

  it('produces idempotently and consumes in a group through the composed door', async () => {
    const kafka = new Kafka({ brokers: [broker().kafka.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true });
    const consumer = kafka.consumer({ groupId: 'js-group', sessionTimeout: 6000, heartbeatInterval: 500 });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      await admin.createTopics({ topics: [{ topic: 'js-topic', numPartitions: 2 }] });
      const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
      await producer.send({ topic: 'js-topic', messages });
      const seen: string[] = [];
      await consumer.subscribe({ topic: 'js-topic', fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length === messages.length) resolve();
          },
        });
      });
      await done;
      expect([...seen].sort()).toEqual(messages.map((m) => m.value).sort());
    } finally {
      await Promise.all([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    }
  });
});
