import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startKafkaBroker, type TestKafkaBroker } from '../../../helpers/kafka-broker.js';
import type { KafkaDoor } from '../../../../src/protocol/kafka/index.js';

const run = promisify(execFile);
const TOPIC = 'kcat-orders';
const MESSAGES = 60;

let broker: TestKafkaBroker;
let admin: Admin;

beforeAll(async () => {
  broker = await startKafkaBroker();
  const kafka = new Kafka({ clientId: 'kcat-it', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: Array.from({ length: MESSAGES }, (_, i) => ({ partition: i % 3, value: `m${i}` })) });
  await producer.disconnect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

/** kcat's balanced consumer (librdkafka: JoinGroup v5, SyncGroup v3, OffsetCommit v7, OffsetFetch v5), until end of partitions. */
async function kcatGroup(groupId: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run(
    'kcat',
    ['-b', broker.bootstrap, '-G', groupId, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%s\\n', '-X', 'session.timeout.ms=6000', ...extra, TOPIC],
    { timeout: 30_000 },
  );
  return stdout.split('\n').filter((l) => l !== '');
}

describe('kcat (librdkafka) balanced consumer', () => {
  it('consumes through the group, commits on close, and resumes from the commit', async () => {
    const first = await kcatGroup('kcat-group');
    expect(new Set(first).size).toBe(MESSAGES);
    expect(first).toHaveLength(MESSAGES);

    const [committed] = await admin.fetchOffsets({ groupId: 'kcat-group', topics: [TOPIC] });
    expect(committed!.partitions.map((p) => p.offset)).toEqual(['20', '20', '20']);
    const { groups } = await admin.describeGroups(['kcat-group']);
    expect(groups[0]).toMatchObject({ state: 'Empty', protocolType: 'consumer' });

    // The same group again: everything is committed, so nothing is read twice.
    expect(await kcatGroup('kcat-group')).toEqual([]);
  });

  it('a static member (group.instance.id) that restarts keeps its place without a rebalance', async () => {
    const groupId = 'kcat-static';
    // The helper types its door as a plain Door; it is the Kafka door, which carries the coordinator.
    const groups = (broker.door as KafkaDoor).groups;
    const staticArgs = ['-X', 'group.instance.id=pod-1'];
    expect(await kcatGroup(groupId, staticArgs)).toHaveLength(MESSAGES);
    // librdkafka does not leave the group on close when it is a static member.
    const before = groups.describeGroup(groupId)!;
    expect(before).toMatchObject({ state: 'Stable', generationId: 1 });
    expect(before.members.map((m) => m.groupInstanceId)).toEqual(['pod-1']);

    expect(await kcatGroup(groupId, staticArgs)).toEqual([]);
    const after = groups.describeGroup(groupId)!;
    expect(after).toMatchObject({ state: 'Stable', generationId: 1 });
    expect(after.members).toHaveLength(1);
    expect(after.members[0]!.memberId).not.toBe(before.members[0]!.memberId);
  });
});
