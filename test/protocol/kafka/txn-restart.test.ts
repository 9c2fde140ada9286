import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { childBrokerScope } from '../../helpers/child-broker.js';
import { readValues, sorted } from './txn-helpers.js';

const brokers = childBrokerScope('railyard-txn-crash-');
afterEach(() => brokers.cleanup());

function client(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'txn-restart', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });
}

describe('transactions across a kill -9 of the broker (built CLI)', () => {
  it('keeps a committed transaction, aborts the open one, and keeps its offsets out of the group', async () => {
    const dataDir = brokers.tempDir();
    const args = ['--data-dir', dataDir, '--host', '127.0.0.1', '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0'];
    const first = await brokers.start(args);
    const kafka = client(first.kafka);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'txn-crash', numPartitions: 1 }] });
    await admin.disconnect();

    const done = kafka.producer({ transactionalId: 'tx-crash-done', idempotent: true, maxInFlightRequests: 1 });
    await done.connect();
    const committed = await done.transaction();
    await committed.send({ topic: 'txn-crash', messages: [{ value: 'd0' }, { value: 'd1' }] });
    await committed.commit();

    const open = kafka.producer({ transactionalId: 'tx-crash-open', idempotent: true, maxInFlightRequests: 1 });
    await open.connect();
    const left = await open.transaction();
    await left.send({ topic: 'txn-crash', messages: [{ value: 'o0' }, { value: 'o1' }, { value: 'o2' }] });
    await left.sendOffsets({ consumerGroupId: 'g-crash', topics: [{ topic: 'txn-crash', partitions: [{ partition: 0, offset: '9' }] }] });

    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    await done.disconnect().catch(() => undefined);
    await open.disconnect().catch(() => undefined);

    const second = await brokers.start(args);
    const kafka2 = client(second.kafka);
    // The same transactional id starts over; its records after the crash commit normally.
    const again = kafka2.producer({ transactionalId: 'tx-crash-open', idempotent: true, maxInFlightRequests: 1 });
    await again.connect();
    try {
      const txn = await again.transaction();
      await txn.send({ topic: 'txn-crash', messages: [{ value: 'n0' }] });
      await txn.commit();
    } finally {
      await again.disconnect();
    }

    const readCommitted = await readValues(kafka2, 'txn-crash', { readUncommitted: false, done: (v) => v.length >= 3 });
    expect(sorted(readCommitted)).toEqual(['d0', 'd1', 'n0']);
    const readUncommitted = await readValues(kafka2, 'txn-crash', { readUncommitted: true, done: (v) => v.length >= 6 });
    expect(sorted(readUncommitted)).toEqual(['d0', 'd1', 'n0', 'o0', 'o1', 'o2']);
    const admin2 = kafka2.admin();
    await admin2.connect();
    try {
      const offsets = await admin2.fetchOffsets({ groupId: 'g-crash', topics: ['txn-crash'] });
      expect(offsets[0]!.partitions[0]!.offset).toBe('-1');
    } finally {
      await admin2.disconnect();
    }
  }, 60_000);
});
