import { afterEach, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { childBrokerScope } from '../helpers/child-broker.js';

const { Kafka, logLevel } = kafkajs;
const brokers = childBrokerScope('railyard-crash-');
const tempDir = (): string => brokers.tempDir();
afterEach(() => brokers.cleanup());

function client(bootstrap: string) {
  return new Kafka({ clientId: 'crash-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

async function readAll(bootstrap: string, topic: string, expected: number, groupId: string): Promise<string[]> {
  const consumer = client(bootstrap).consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 3000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${expected}`)), 20_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe('Kafka door across restarts', () => {
  it('keeps topics, records and committed offsets after a clean restart', async () => {
    const dataDir = tempDir();
    let b = await startBroker({ dataDir });
    const admin = client(b.kafka.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const producer = client(b.kafka.bootstrap).producer();
    await producer.connect();
    await producer.send({ topic: 'kept', messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    const first = await readAll(b.kafka.bootstrap, 'kept', 30, 'g-kept');
    expect(new Set(first).size).toBe(30);
    const committed = await admin.fetchOffsets({ groupId: 'g-kept', topics: ['kept'] });
    await admin.disconnect();
    await b.stop();

    b = await startBroker({ dataDir });
    try {
      const admin2 = client(b.kafka.bootstrap).admin();
      await admin2.connect();
      const meta = await admin2.fetchTopicMetadata({ topics: ['kept'] });
      expect(meta.topics[0]!.partitions).toHaveLength(3);
      const configs = await admin2.describeConfigs({ resources: [{ type: 2, name: 'kept', configNames: ['retention.ms'] }], includeSynonyms: false });
      expect(configs.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).toBe('3600000');
      expect(await admin2.fetchOffsets({ groupId: 'g-kept', topics: ['kept'] })).toEqual(committed);
      const offsets = await admin2.fetchTopicOffsets('kept');
      expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(30);
      await admin2.disconnect();
      // The group resumes after its committed offsets: only new records arrive.
      const producer2 = client(b.kafka.bootstrap).producer();
      await producer2.connect();
      await producer2.send({ topic: 'kept', messages: [{ key: 'k30', value: 'after-restart' }] });
      await producer2.disconnect();
      expect(await readAll(b.kafka.bootstrap, 'kept', 1, 'g-kept')).toEqual(['after-restart']);
    } finally {
      await b.stop();
    }
  });

  it('keeps every acknowledged acks=1 record when the broker is killed with SIGKILL mid-produce', async () => {
    const dataDir = tempDir();
    const args = ['--data-dir', dataDir, '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0'];
    const child = await brokers.start(args);
    const kafka = client(child.kafka);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[] = [];
    let sent = 0;
    let killed = false;
    const sender = async () => {
      while (!killed) {
        const batch = Array.from({ length: 20 }, () => ({ value: `m-${sent++}` }));
        try {
          await producer.send({ topic: 'crash', acks: 1, messages: batch });
          for (const m of batch) acked.push(m.value);
        } catch {
          return; // the broker is gone: these were never acknowledged
        }
      }
    };
    const senders = [sender(), sender(), sender()];
    while (acked.length < 2000) await new Promise((r) => setTimeout(r, 5));
    child.proc.kill('SIGKILL');
    killed = true;
    expect(await child.exited).toBe('SIGKILL');
    await Promise.all(senders);
    await producer.disconnect().catch(() => undefined);

    const again = await brokers.start(args);
    const admin2 = client(again.kafka).admin();
    await admin2.connect();
    const total = (await admin2.fetchTopicOffsets('crash')).reduce((n, p) => n + Number(p.high), 0);
    await admin2.disconnect();
    expect(total).toBeGreaterThanOrEqual(acked.length);
    const stored = new Set(await readAll(again.kafka, 'crash', total, 'g-crash'));
    const lost = acked.filter((v) => !stored.has(v));
    expect(lost).toEqual([]);
    // Appends continue at the right offset after recovery.
    const p2 = client(again.kafka).producer();
    await p2.connect();
    const [res] = await p2.send({ topic: 'crash', acks: 1, messages: [{ value: 'after', partition: 0 }] });
    await p2.disconnect();
    const admin3 = client(again.kafka).admin();
    await admin3.connect();
    const after = (await admin3.fetchTopicOffsets('crash')).find((p) => p.partition === 0)!;
    await admin3.disconnect();
    expect(Number(res!.baseOffset)).toBe(Number(after.high) - 1);
  }, 60_000);
});
