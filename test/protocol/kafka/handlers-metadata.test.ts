import { afterEach, describe, expect, it } from 'vitest';
import { createMetadataHandler } from '../../../src/protocol/kafka/handlers/metadata.js';
import type { MetadataResponse } from '../../../src/protocol/kafka/generated/index.js';
import { call, openTestBroker, type TestBroker } from './handler-context.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

describe('Metadata handler', () => {
  it('lists every topic for v0 with an empty list and v1+ with null; none for v1+ with an empty list', async () => {
    broker = await openTestBroker();
    broker.ctx.log.createTopic('zeta', { partitions: 1 });
    broker.ctx.log.createTopic('alpha', { partitions: 2 });
    const h = createMetadataHandler(broker.ctx);
    const v0 = (await call<MetadataResponse>(h, 0, { topics: [] }))!;
    expect(v0.topics.map((t) => t.name)).toEqual(['alpha', 'zeta']);
    expect(v0.topics[0]!.partitions.map((p) => p.partitionIndex)).toEqual([0, 1]);
    const v1 = (await call<MetadataResponse>(h, 1, { topics: null }))!;
    expect(v1.topics.map((t) => t.name)).toEqual(['alpha', 'zeta']);
    const none = (await call<MetadataResponse>(h, 1, { topics: [] }))!;
    expect(none.topics).toEqual([]);
  });

  it('names broker 0 as controller and leader, on the address the client reached', async () => {
    broker = await openTestBroker();
    broker.ctx.log.createTopic('t', { partitions: 1 });
    const h = createMetadataHandler(broker.ctx);
    const res = (await call<MetadataResponse>(h, 6, { topics: [{ name: 't' }] }, '::ffff:127.0.0.1'))!;
    expect(res.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: 19092, rack: null }]);
    expect(res.controllerId).toBe(0);
    expect(res.clusterId).toBeTypeOf('string');
    const p = res.topics[0]!.partitions[0]!;
    expect(p).toMatchObject({ errorCode: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0] });
    const v6 = (await call<MetadataResponse>(h, 6, { topics: [{ name: 't' }] }, '::1'))!;
    expect(v6.brokers[0]!.host).toBe('::1');
  });

  it('uses the advertised host when configured', async () => {
    broker = await openTestBroker({ advertisedHost: 'kafka.example' });
    const res = (await call<MetadataResponse>(createMetadataHandler(broker.ctx), 4, { topics: null }))!;
    expect(res.brokers[0]!.host).toBe('kafka.example');
  });

  it('auto-creates requested topics with the default partition count', async () => {
    broker = await openTestBroker({ defaultPartitions: 3 });
    const h = createMetadataHandler(broker.ctx);
    const res = (await call<MetadataResponse>(h, 1, { topics: [{ name: 'fresh' }] }))!;
    expect(res.topics[0]!.errorCode).toBe(0);
    expect(res.topics[0]!.partitions).toHaveLength(3);
    expect(broker.ctx.log.topic('fresh')?.partitions).toBe(3);
  });

  it('does not create when the request (v4+) or the broker forbids it', async () => {
    broker = await openTestBroker();
    const h = createMetadataHandler(broker.ctx);
    const res = (await call<MetadataResponse>(h, 4, { topics: [{ name: 'nope' }], allowAutoTopicCreation: false }))!;
    expect(res.topics[0]).toMatchObject({ name: 'nope', errorCode: 3, partitions: [] });
    expect(broker.ctx.log.topic('nope')).toBeUndefined();
    await broker.close();

    broker = await openTestBroker({ autoCreateTopics: false });
    const off = (await call<MetadataResponse>(createMetadataHandler(broker.ctx), 5, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true }))!;
    expect(off.topics[0]!.errorCode).toBe(3);
    expect(broker.ctx.log.topic('nope')).toBeUndefined();
  });

  it('answers INVALID_TOPIC_EXCEPTION for illegal names', async () => {
    broker = await openTestBroker();
    const res = (await call<MetadataResponse>(createMetadataHandler(broker.ctx), 6, { topics: [{ name: 'bad name!' }, { name: '..' }] }))!;
    expect(res.topics.map((t) => t.errorCode)).toEqual([17, 17]);
    expect(broker.ctx.log.topics()).toEqual([]);
  });
});
