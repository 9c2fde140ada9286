import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { startKafkaBroker, type TestKafkaBroker } from '../../../helpers/kafka-broker.js';

const TOPIC = 'orders';
const PARTITIONS = 6;
const PER_WAVE = 120;

let broker: TestKafkaBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startKafkaBroker();
  kafka = new Kafka({
    clientId: 'groups-it',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
  producer = kafka.producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
});

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function produceWave(wave: number): Promise<void> {
  const messages = Array.from({ length: PER_WAVE }, (_, i) => ({ partition: i % PARTITIONS, value: `w${wave}-${i}` }));
  await producer.send({ topic: TOPIC, messages });
}

function newConsumer(groupId: string): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    rebalanceTimeout: 3000,
    maxWaitTimeInMs: 100,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Members and their partitions as DescribeGroups reports them. */
async function describeGroup(groupId: string) {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0]!;
  return {
    state: g.state,
    protocolType: g.protocolType,
    protocol: g.protocol,
    members: g.members.map((m) => ({
      clientId: m.clientId,
      partitions: g.state === 'Stable' ? (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[TOPIC] ?? []) : [],
    })),
  };
}

async function stableWith(groupId: string, members: number): Promise<boolean> {
  const d = await describeGroup(groupId);
  if (d.state !== 'Stable' || d.members.length !== members) return false;
  const all = d.members.flatMap((m) => m.partitions).sort((a, b) => a - b);
  return all.length === PARTITIONS && all.every((p, i) => p === i);
}

describe('kafkajs consumer group', { timeout: 60_000 }, () => {
  it('shares 6 partitions among members that join and leave, with manual commits and no message lost or doubled', async () => {
    const groupId = 'workers';
    const counts = new Map<string, number>();
    const processedBy = new Map<string, Set<string>>();
    let wave = 0;

    const start = async (name: string): Promise<Consumer> => {
      const c = kafka.consumer({
        groupId,
        sessionTimeout: 6000,
        heartbeatInterval: 500,
        rebalanceTimeout: 3000,
        maxWaitTimeInMs: 100,
        retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const v = m.value!.toString();
            counts.set(v, (counts.get(v) ?? 0) + 1);
            let seen = processedBy.get(name);
            if (!seen) processedBy.set(name, (seen = new Set()));
            seen.add(`w${wave}`);
          }
          if (batch.messages.length > 0) {
            const next = (BigInt(batch.lastOffset()) + 1n).toString();
            await c.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
          }
        },
      });
      return c;
    };
    const consumedAll = (n: number) => counts.size === n;

    const c1 = await start('c1');
    await waitFor('c1 alone in the group', () => stableWith(groupId, 1));
    wave = 1;
    await produceWave(1);
    await waitFor('wave 1', () => consumedAll(PER_WAVE));

    const c2 = await start('c2');
    const c3 = await start('c3');
    await waitFor('three members sharing the partitions', () => stableWith(groupId, 3));
    const three = await describeGroup(groupId);
    expect(three).toMatchObject({ state: 'Stable', protocolType: 'consumer' });
    expect(three.members.every((m) => m.partitions.length === 2)).toBe(true);
    expect(three.members.every((m) => m.clientId === 'groups-it')).toBe(true);

    wave = 2;
    processedBy.clear();
    await produceWave(2);
    await waitFor('wave 2', () => consumedAll(2 * PER_WAVE));
    expect([...processedBy.keys()].sort()).toEqual(['c1', 'c2', 'c3']);

    await c2.disconnect();
    await waitFor('two members after c2 left', () => stableWith(groupId, 2));
    wave = 3;
    processedBy.clear();
    await produceWave(3);
    await waitFor('wave 3', () => consumedAll(3 * PER_WAVE));
    expect([...processedBy.keys()].sort()).toEqual(['c1', 'c3']);

    const doubled = [...counts].filter(([, n]) => n !== 1);
    expect(doubled).toEqual([]);

    // Committed offsets are the end of each partition.
    const committed = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
    const ends = await admin.fetchTopicOffsets(TOPIC);
    const byPartition = (rows: Array<{ partition: number; offset: string }>) =>
      rows.map((r) => [r.partition, r.offset] as const).sort((a, b) => a[0] - b[0]);
    expect(byPartition(committed[0]!.partitions)).toEqual(byPartition(ends.map((e) => ({ partition: e.partition, offset: e.high }))));
    expect(committed[0]!.partitions.every((p) => p.offset === String((3 * PER_WAVE) / PARTITIONS))).toBe(true);

    await c1.disconnect();
    await c3.disconnect();
    await waitFor('the group to be empty', async () => (await describeGroup(groupId)).state === 'Empty');
    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId, protocolType: 'consumer' });

    // An empty group's offsets can be set by the admin (a commit without a generation).
    await admin.setOffsets({ groupId, topic: TOPIC, partitions: [{ partition: 0, offset: '7' }] });
    const after = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
    expect(after[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('7');
  });

  it('seek re-reads a partition from the given offset and commits from there', async () => {
    const groupId = 'seeker';
    const consumer = newConsumer(groupId);
    const seen = new Map<number, number[]>();
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const offsets = seen.get(batch.partition) ?? [];
        for (const m of batch.messages) offsets.push(Number(m.offset));
        seen.set(batch.partition, offsets);
      },
    });
    const perPartition = (3 * PER_WAVE) / PARTITIONS;
    await waitFor('the whole topic', () => [...seen.values()].reduce((n, o) => n + o.length, 0) === 3 * PER_WAVE);

    consumer.seek({ topic: TOPIC, partition: 2, offset: '5' });
    await waitFor('partition 2 re-read', () => seen.get(2)!.length === perPartition + perPartition - 5);
    const p2 = seen.get(2)!;
    expect(p2.slice(perPartition)).toEqual(Array.from({ length: perPartition - 5 }, (_, i) => i + 5));
    for (const p of [0, 1, 3, 4, 5]) expect(seen.get(p)!.length).toBe(perPartition);

    await waitFor('offsets committed to the end', async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
      return t!.partitions.every((p) => p.offset === String(perPartition));
    });
    await consumer.disconnect();
  });

  it('deletes an empty group with its offsets', async () => {
    const groupId = 'short-lived';
    const consumer = newConsumer(groupId);
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let n = 0;
    await consumer.run({ eachMessage: async () => void n++ });
    await waitFor('messages', () => n === 3 * PER_WAVE);
    await expect(admin.deleteGroups([groupId])).rejects.toThrow();
    await consumer.disconnect();
    const [res] = await admin.deleteGroups([groupId]);
    expect(res).toMatchObject({ groupId, errorCode: 0 });
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
    expect(offsets!.partitions.every((p) => p.offset === '-1')).toBe(true);
  });
});
