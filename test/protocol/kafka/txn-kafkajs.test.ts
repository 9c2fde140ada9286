import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../../src/index.js';
import { readValues, sorted } from './txn-helpers.js';
import { roundTrip } from '../../helpers/kafka-codec-client.js';
import { RawKafkaClient } from '../../helpers/kafka-raw.js';

let broker: Broker;
let kafka: Kafka;
let admin: Admin;
const producers: Producer[] = [];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1' });
  kafka = new Kafka({
    clientId: 'txn-it',
    brokers: [broker.kafka.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => undefined);
  await admin?.disconnect();
  await broker?.stop();
});

async function createTopic(topic: string, numPartitions = 2): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
}

async function txnProducer(transactionalId: string, transactionTimeout?: number): Promise<Producer> {
  const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, ...(transactionTimeout ? { transactionTimeout } : {}) });
  producers.push(p);
  await p.connect();
  return p;
}

const messages = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: `${prefix}${i}`, partition: i % 2 }));

describe('kafkajs transactional producer', () => {
  it('ApiVersions advertises the transaction APIs at the versions kafkajs and librdkafka send', async () => {
    const c = await RawKafkaClient.connect(broker.kafka.port);
    try {
      const res = await roundTrip<{ apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }> }>(c, 18, 2, 1, {});
      const range = (key: number) => res.apiKeys.filter((k) => k.apiKey === key).map((k) => [k.minVersion, k.maxVersion]);
      expect(range(10)).toEqual([[0, 2]]); // FindCoordinator: key type 1 (transaction) from v1
      expect(range(22)).toEqual([[0, 4]]); // InitProducerId
      expect(range(24)).toEqual([[0, 1]]); // AddPartitionsToTxn
      expect(range(25)).toEqual([[0, 1]]); // AddOffsetsToTxn
      expect(range(26)).toEqual([[0, 1]]); // EndTxn
      expect(range(28)).toEqual([[0, 3]]); // TxnOffsetCommit
    } finally {
      c.close();
    }
  });

  it('commit: a read_committed consumer sees every record of the transaction', async () => {
    await createTopic('txn-commit');
    const p = await txnProducer('tx-commit');
    const txn = await p.transaction();
    await txn.send({ topic: 'txn-commit', messages: messages('c', 6) });
    await txn.commit();
    const seen = await readValues(kafka, 'txn-commit', { readUncommitted: false, done: (v) => v.length >= 6 });
    expect(sorted(seen)).toEqual(sorted(messages('c', 6).map((m) => m.value)));
  });

  it('abort: read_committed skips the records, read_uncommitted still sees them', async () => {
    await createTopic('txn-abort');
    const p = await txnProducer('tx-abort');
    const aborted = await p.transaction();
    await aborted.send({ topic: 'txn-abort', messages: messages('a', 4) });
    await aborted.abort();
    // A committed transaction after it: once read_committed sees its records, it has read past the aborted ones.
    const committed = await p.transaction();
    await committed.send({ topic: 'txn-abort', messages: messages('ok', 2) });
    await committed.commit();

    const readCommitted = await readValues(kafka, 'txn-abort', { readUncommitted: false, done: (v) => v.length >= 2 });
    expect(sorted(readCommitted)).toEqual(['ok0', 'ok1']);
    const readUncommitted = await readValues(kafka, 'txn-abort', { readUncommitted: true, done: (v) => v.length >= 6 });
    expect(sorted(readUncommitted)).toEqual(sorted(['a0', 'a1', 'a2', 'a3', 'ok0', 'ok1']));
  });

  it('sendOffsets: the group offsets move only when the transaction commits', async () => {
    await createTopic('txn-offsets-in');
    await createTopic('txn-offsets-out');
    const group = 'txn-offsets-group';
    const p = await txnProducer('tx-offsets');
    const fetchCommitted = async () => {
      const res = await admin.fetchOffsets({ groupId: group, topics: ['txn-offsets-in'] });
      return res[0]!.partitions.sort((a, b) => a.partition - b.partition).map((x) => x.offset);
    };

    const aborted = await p.transaction();
    await aborted.send({ topic: 'txn-offsets-out', messages: messages('x', 1) });
    await aborted.sendOffsets({ consumerGroupId: group, topics: [{ topic: 'txn-offsets-in', partitions: [{ partition: 0, offset: '5' }] }] });
    // Pending until the transaction ends: not visible to OffsetFetch yet.
    expect(await fetchCommitted()).toEqual(['-1', '-1']);
    await aborted.abort();
    expect(await fetchCommitted()).toEqual(['-1', '-1']);

    const committed = await p.transaction();
    await committed.send({ topic: 'txn-offsets-out', messages: messages('y', 1) });
    await committed.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: 'txn-offsets-in', partitions: [{ partition: 0, offset: '7' }, { partition: 1, offset: '3' }] }],
    });
    expect(await fetchCommitted()).toEqual(['-1', '-1']);
    await committed.commit();
    expect(await fetchCommitted()).toEqual(['7', '3']);
  });

  it('a second producer with the same transactionalId fences the first and aborts its open transaction', async () => {
    await createTopic('txn-fence');
    const first = await txnProducer('tx-fence');
    const zombie = await first.transaction();
    await zombie.send({ topic: 'txn-fence', messages: messages('z', 2) });

    // kafkajs claims the transactional id (InitProducerId with it) when the first transaction begins.
    const second = await txnProducer('tx-fence');
    const txn = await second.transaction();
    await expect(zombie.commit()).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });

    await txn.send({ topic: 'txn-fence', messages: messages('s', 2) });
    await txn.commit();
    const seen = await readValues(kafka, 'txn-fence', { readUncommitted: false, done: (v) => v.length >= 2 });
    expect(sorted(seen)).toEqual(['s0', 's1']);
    // The zombie's records were aborted when it was fenced, not left open holding back the LSO.
    const all = await readValues(kafka, 'txn-fence', { readUncommitted: true, done: (v) => v.length >= 4 });
    expect(sorted(all)).toEqual(['s0', 's1', 'z0', 'z1']);
  });

  it('aborts a transaction left open past transaction.timeout.ms and fences its producer', async () => {
    await createTopic('txn-timeout');
    const p = await txnProducer('tx-timeout', 1000);
    const txn = await p.transaction();
    await txn.send({ topic: 'txn-timeout', messages: messages('t', 2) });
    await new Promise((r) => setTimeout(r, 1800));
    await expect(txn.commit()).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });

    const next = await txnProducer('tx-timeout', 10_000);
    const after = await next.transaction();
    await after.send({ topic: 'txn-timeout', messages: messages('n', 1) });
    await after.commit();
    const seen = await readValues(kafka, 'txn-timeout', { readUncommitted: false, done: (v) => v.length >= 1 });
    expect(seen).toEqual(['n0']);
  });
});
