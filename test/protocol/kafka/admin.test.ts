import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaBroker, type TestKafkaBroker } from '../../helpers/kafka-broker.js';
import { roundTrip } from '../../helpers/kafka-codec-client.js';
import { RawKafkaClient } from '../../helpers/kafka-raw.js';

const TOPIC = 2;
const BROKER = 4;

/** kafkajs wraps per-topic errors; this digs out the Kafka error type names. */
async function errorTypes(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (err) {
    let e = err as { type?: string; errors?: Array<{ type?: string }>; cause?: unknown };
    // Retriable errors come back wrapped in KafkaJSNumberOfRetriesExceeded.
    while (e.type === undefined && !Array.isArray(e.errors) && e.cause) e = e.cause as typeof e;
    if (Array.isArray(e.errors)) return e.errors.map((x) => x.type ?? 'unknown');
    return [e.type ?? String(err)];
  }
  throw new Error('expected the call to fail');
}

describe('Kafka admin APIs via kafkajs', () => {
  let broker: TestKafkaBroker;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    broker = await startKafkaBroker({ kafka: { defaultPartitions: 3, autoCreateTopics: false } });
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    admin = kafka.admin();
    producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
  });
  afterAll(async () => {
    await Promise.all([admin?.disconnect(), producer?.disconnect()]);
    await broker?.stop();
  });

  const partitionsOf = async (topic: string) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;

  describe('createTopics', () => {
    it('creates topics with explicit and default partition counts', async () => {
      expect(await admin.createTopics({ topics: [{ topic: 'ct-explicit', numPartitions: 2 }, { topic: 'ct-default' }] })).toBe(true);
      expect(await partitionsOf('ct-explicit')).toBe(2);
      expect(await partitionsOf('ct-default')).toBe(3);
      const metadata = await admin.fetchTopicMetadata({ topics: ['ct-explicit'] });
      expect(metadata.topics[0]!.partitions.map((p) => p.replicas)).toEqual([[0], [0]]);
    });

    it('returns false for a topic that already exists', async () => {
      await admin.createTopics({ topics: [{ topic: 'ct-twice' }] });
      expect(await admin.createTopics({ topics: [{ topic: 'ct-twice' }] })).toBe(false);
    });

    it('accepts replication factor 1 and refuses more than one broker can hold', async () => {
      expect(await admin.createTopics({ topics: [{ topic: 'ct-rf1', replicationFactor: 1 }] })).toBe(true);
      expect(await errorTypes(admin.createTopics({ topics: [{ topic: 'ct-rf3', replicationFactor: 3 }] }))).toEqual(['INVALID_REPLICATION_FACTOR']);
      expect(broker.ctx.log.topic('ct-rf3')).toBeUndefined();
    });

    it('accepts manual assignments that name broker 0 and refuses other brokers', async () => {
      const replicaAssignment = [
        { partition: 0, replicas: [0] },
        { partition: 1, replicas: [0] },
      ];
      expect(await admin.createTopics({ topics: [{ topic: 'ct-assigned', replicaAssignment }] })).toBe(true);
      expect(await partitionsOf('ct-assigned')).toBe(2);
      const elsewhere = [{ partition: 0, replicas: [1] }];
      expect(await errorTypes(admin.createTopics({ topics: [{ topic: 'ct-broker1', replicaAssignment: elsewhere }] }))).toEqual(['INVALID_REPLICA_ASSIGNMENT']);
    });

    it('refuses invalid partition counts and topic names', async () => {
      expect(await errorTypes(admin.createTopics({ topics: [{ topic: 'ct-zero', numPartitions: 0 }] }))).toEqual(['INVALID_PARTITIONS']);
      expect(await errorTypes(admin.createTopics({ topics: [{ topic: 'bad/name' }] }))).toEqual(['INVALID_TOPIC_EXCEPTION']);
    });

    it('only validates with validateOnly', async () => {
      expect(await admin.createTopics({ topics: [{ topic: 'ct-validate' }], validateOnly: true, waitForLeaders: false })).toBe(true);
      expect(broker.ctx.log.topic('ct-validate')).toBeUndefined();
    });

    it('stores the configs given at creation and refuses invalid ones', async () => {
      await admin.createTopics({ topics: [{ topic: 'ct-configs', configEntries: [{ name: 'retention.ms', value: '12345' }] }] });
      const d = await admin.describeConfigs({ resources: [{ type: TOPIC, name: 'ct-configs', configNames: ['retention.ms'] }], includeSynonyms: false });
      expect(d.resources[0]!.configEntries).toMatchObject([{ configName: 'retention.ms', configValue: '12345', isDefault: false }]);
      const bad = admin.createTopics({ topics: [{ topic: 'ct-badconf', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] });
      expect(await errorTypes(bad)).toEqual(['INVALID_CONFIG']);
      expect(broker.ctx.log.topic('ct-badconf')).toBeUndefined();
    });

    it('answers the CreateTopics version librdkafka sends (v4) with per-topic messages', async () => {
      const c = await RawKafkaClient.connect(broker.port);
      const res = await roundTrip<{ topics: Array<{ name: string; errorCode: number; errorMessage: string | null }> }>(c, 19, 4, 1, {
        topics: [
          { name: 'ct-v4', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] },
          { name: 'ct-v4-rf', numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] },
          { name: 'ct-dup', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
          { name: 'ct-dup', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        ],
        timeoutMs: 1000,
        validateOnly: false,
      });
      c.close();
      expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([
        ['ct-v4', 0],
        ['ct-v4-rf', 38],
        ['ct-dup', 42],
        ['ct-dup', 42],
      ]);
      expect(res.topics[1]!.errorMessage).toMatch(/Replication factor/);
      expect(broker.ctx.log.topic('ct-v4')?.partitions).toBe(3);
      expect(broker.ctx.log.topic('ct-dup')).toBeUndefined();
    });
  });

  describe('createPartitions', () => {
    it('grows a topic', async () => {
      await admin.createTopics({ topics: [{ topic: 'cp-grow', numPartitions: 1 }] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'cp-grow', count: 4 }] });
      expect(await partitionsOf('cp-grow')).toBe(4);
      await producer.send({ topic: 'cp-grow', messages: [{ value: 'new partition', partition: 3 }] });
      const offsets = await admin.fetchTopicOffsets('cp-grow');
      expect(offsets.find((o) => o.partition === 3)!.high).toBe('1');
    });

    it('refuses shrinking, unknown topics and assignments to other brokers', async () => {
      await admin.createTopics({ topics: [{ topic: 'cp-fixed', numPartitions: 2 }] });
      expect(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic: 'cp-fixed', count: 2 }] }))).toEqual(['INVALID_PARTITIONS']);
      expect(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic: 'cp-none', count: 2 }] }))).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
      const assignments = [[1]];
      expect(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic: 'cp-fixed', count: 3, assignments }] }))).toEqual(['INVALID_REPLICA_ASSIGNMENT']);
      await admin.createPartitions({ topicPartitions: [{ topic: 'cp-fixed', count: 3, assignments: [[0]] }] });
      expect(await partitionsOf('cp-fixed')).toBe(3);
    });

    it('only validates with validateOnly', async () => {
      await admin.createTopics({ topics: [{ topic: 'cp-validate', numPartitions: 1 }] });
      await admin.createPartitions({ topicPartitions: [{ topic: 'cp-validate', count: 5 }], validateOnly: true });
      expect(broker.ctx.log.topic('cp-validate')?.partitions).toBe(1);
    });
  });

  describe('deleteTopics', () => {
    it('deletes topics and their data', async () => {
      await admin.createTopics({ topics: [{ topic: 'dt-gone', numPartitions: 1 }] });
      await producer.send({ topic: 'dt-gone', messages: [{ value: 'x' }] });
      await admin.setOffsets({ groupId: 'dt-group', topic: 'dt-gone', partitions: [{ partition: 0, offset: '1' }] });
      await admin.deleteTopics({ topics: ['dt-gone'] });
      expect(await admin.listTopics()).not.toContain('dt-gone');
      // Recreated, it starts empty, and groups do not resume from offsets of the old topic.
      await admin.createTopics({ topics: [{ topic: 'dt-gone', numPartitions: 1 }] });
      expect((await admin.fetchTopicOffsets('dt-gone'))[0]!.high).toBe('0');
      const [committed] = await admin.fetchOffsets({ groupId: 'dt-group', topics: ['dt-gone'] });
      expect(committed!.partitions[0]!.offset).toBe('-1');
    });

    it('reports unknown topics', async () => {
      expect(await errorTypes(admin.deleteTopics({ topics: ['dt-never'] }))).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
    });
  });

  describe('describeConfigs', () => {
    it('lists every topic config with its source', async () => {
      await admin.createTopics({ topics: [{ topic: 'dc-topic', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
      const d = await admin.describeConfigs({ resources: [{ type: TOPIC, name: 'dc-topic' }], includeSynonyms: false });
      const r = d.resources[0]!;
      expect(r.errorCode).toBe(0);
      const byName = new Map(r.configEntries.map((e) => [e.configName, e]));
      expect(byName.get('cleanup.policy')).toMatchObject({ configValue: 'compact', isDefault: false, configSource: 1 });
      expect(byName.get('retention.ms')).toMatchObject({ isDefault: true, configSource: 5 });
      expect(byName.size).toBeGreaterThan(5);
    });

    it('filters by config name and includes synonyms when asked', async () => {
      const d = await admin.describeConfigs({ resources: [{ type: TOPIC, name: 'dc-topic', configNames: ['cleanup.policy'] }], includeSynonyms: true });
      expect(d.resources[0]!.configEntries).toHaveLength(1);
      expect(d.resources[0]!.configEntries[0]!.configSynonyms).toEqual([{ configName: 'cleanup.policy', configValue: 'compact', configSource: 1 }]);
    });

    it('reports unknown topics per resource', async () => {
      // kafkajs turns any resource error into an exception...
      expect(await errorTypes(admin.describeConfigs({ resources: [{ type: TOPIC, name: 'dc-none' }], includeSynonyms: false }))).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
      // ...so look at the per-resource answer of the version librdkafka sends (v1) directly.
      const c = await RawKafkaClient.connect(broker.port);
      const res = await roundTrip<{ results: Array<{ errorCode: number; resourceName: string; configs: unknown[] }> }>(c, 32, 1, 1, {
        resources: [
          { resourceType: TOPIC, resourceName: 'dc-none', configurationKeys: null },
          { resourceType: TOPIC, resourceName: 'dc-topic', configurationKeys: ['retention.ms'] },
          { resourceType: BROKER, resourceName: '7', configurationKeys: null },
        ],
        includeSynonyms: false,
      });
      c.close();
      expect(res.results.map((r) => [r.resourceName, r.errorCode, r.configs.length])).toEqual([
        ['dc-none', 3, 0],
        ['dc-topic', 0, 1],
        ['7', 42, 0],
      ]);
    });

    it('shows the broker settings, read-only', async () => {
      const d = await admin.describeConfigs({ resources: [{ type: BROKER, name: '0' }], includeSynonyms: false });
      const byName = new Map(d.resources[0]!.configEntries.map((e) => [e.configName, e]));
      expect(byName.get('num.partitions')).toMatchObject({ configValue: '3', readOnly: true, configSource: 4 });
      expect(byName.get('auto.create.topics.enable')).toMatchObject({ configValue: 'false', readOnly: true });
      expect(byName.get('default.replication.factor')?.configValue).toBe('1');
    });
  });

  describe('alterConfigs', () => {
    it('replaces the whole set of topic overrides', async () => {
      await admin.createTopics({ topics: [{ topic: 'ac-topic', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-topic', configEntries: [{ name: 'segment.bytes', value: '1048576' }] }] });
      const d = await admin.describeConfigs({ resources: [{ type: TOPIC, name: 'ac-topic', configNames: ['retention.ms', 'segment.bytes'] }], includeSynonyms: false });
      const byName = new Map(d.resources[0]!.configEntries.map((e) => [e.configName, e]));
      expect(byName.get('segment.bytes')).toMatchObject({ configValue: '1048576', isDefault: false });
      expect(byName.get('retention.ms')).toMatchObject({ isDefault: true });
      expect(broker.ctx.log.topic('ac-topic')!.configs).toEqual({ 'segment.bytes': '1048576' });
    });

    it('only validates with validateOnly', async () => {
      await admin.alterConfigs({ validateOnly: true, resources: [{ type: TOPIC, name: 'ac-topic', configEntries: [{ name: 'retention.ms', value: '5' }] }] });
      expect(broker.ctx.log.topic('ac-topic')!.configs).toEqual({ 'segment.bytes': '1048576' });
    });

    it('refuses invalid values, unknown topics and broker settings', async () => {
      const bad = admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-topic', configEntries: [{ name: 'cleanup.policy', value: 'shred' }] }] });
      expect(await errorTypes(bad)).toEqual(['INVALID_CONFIG']);
      const unknown = admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-none', configEntries: [{ name: 'retention.ms', value: '1' }] }] });
      expect(await errorTypes(unknown)).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
      const brokerSide = admin.alterConfigs({ validateOnly: false, resources: [{ type: BROKER, name: '0', configEntries: [{ name: 'num.partitions', value: '9' }] }] });
      expect(await errorTypes(brokerSide)).toEqual(['INVALID_REQUEST']);
      expect(broker.ctx.log.topic('ac-topic')!.configs).toEqual({ 'segment.bytes': '1048576' });
    });
  });

  describe('deleteTopicRecords and fetchTopicOffsets', () => {
    it('moves the low watermark and reports offsets', async () => {
      await admin.createTopics({ topics: [{ topic: 'dr-topic', numPartitions: 2 }] });
      await producer.send({ topic: 'dr-topic', messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, partition: 0 })) });
      await producer.send({ topic: 'dr-topic', messages: Array.from({ length: 3 }, (_, i) => ({ value: `n${i}`, partition: 1 })) });
      expect(await admin.fetchTopicOffsets('dr-topic')).toEqual([
        { partition: 0, offset: '10', high: '10', low: '0' },
        { partition: 1, offset: '3', high: '3', low: '0' },
      ]);
      await admin.deleteTopicRecords({ topic: 'dr-topic', partitions: [{ partition: 0, offset: '4' }, { partition: 1, offset: '-1' }] });
      expect(await admin.fetchTopicOffsets('dr-topic')).toEqual([
        { partition: 0, offset: '10', high: '10', low: '4' },
        { partition: 1, offset: '3', high: '3', low: '3' },
      ]);
      expect(broker.ctx.log.partition('dr-topic', 0)!.logStartOffset).toBe(4);
    });

    it('refuses offsets beyond the high watermark and unknown partitions', async () => {
      const c = await RawKafkaClient.connect(broker.port);
      const res = await roundTrip<{ topics: Array<{ partitions: Array<{ partitionIndex: number; lowWatermark: number; errorCode: number }> }> }>(c, 21, 1, 1, {
        topics: [{ name: 'dr-topic', partitions: [{ partitionIndex: 0, offset: 99 }, { partitionIndex: 7, offset: 1 }, { partitionIndex: 0, offset: 6 }] }],
        timeoutMs: 1000,
      });
      c.close();
      expect(res.topics[0]!.partitions).toEqual([
        { partitionIndex: 0, lowWatermark: -1, errorCode: 1 },
        { partitionIndex: 7, lowWatermark: -1, errorCode: 3 },
        { partitionIndex: 0, lowWatermark: 6, errorCode: 0 },
      ]);
    });
  });
});
