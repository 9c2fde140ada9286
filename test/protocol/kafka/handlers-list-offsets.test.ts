import { afterEach, describe, expect, it } from 'vitest';
import { createListOffsetsHandler } from '../../../src/protocol/kafka/handlers/list-offsets.js';
import type { ListOffsetsResponse } from '../../../src/protocol/kafka/generated/index.js';
import { encodeRecordBatch } from '../../../src/log/index.js';
import { call, openTestBroker, type TestBroker } from './handler-context.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

const T0 = 1_700_000_000_000;

async function setup() {
  broker = await openTestBroker();
  broker.ctx.log.createTopic('t', { partitions: 1 });
  const p = broker.ctx.log.partition('t', 0)!;
  await p.append(encodeRecordBatch({ records: [{ value: 'a', timestamp: T0 }, { value: 'b', timestamp: T0 + 10 }] }));
  await p.append(encodeRecordBatch({ records: [{ value: 'c', timestamp: T0 + 20 }] }));
  return { ctx: broker.ctx, p, h: createListOffsetsHandler(broker.ctx) };
}

const ask = (timestamps: number[], isolationLevel = 0) => ({
  replicaId: -1,
  isolationLevel,
  topics: [{ name: 't', partitions: timestamps.map((timestamp) => ({ partitionIndex: 0, timestamp })) }],
});

describe('ListOffsets handler', () => {
  it('answers latest, earliest and by-timestamp lookups (v1 and v3)', async () => {
    const { h } = await setup();
    for (const v of [1, 3]) {
      const res = (await call<ListOffsetsResponse>(h, v, ask([-1, -2, T0 + 5, T0 + 20, T0 + 999])))!;
      expect(res.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp])).toEqual([
        [0, 3, -1],
        [0, 0, -1],
        [0, 1, T0 + 10],
        [0, 2, T0 + 20],
        [0, -1, -1],
      ]);
    }
  });

  it('read_committed latest is the last stable offset (v2+)', async () => {
    const { p, h } = await setup();
    await p.append(encodeRecordBatch({ records: [{ value: 'open' }], producerId: 3, producerEpoch: 0, baseSequence: 0, transactional: true }));
    const committed = (await call<ListOffsetsResponse>(h, 2, ask([-1], 1)))!;
    expect(committed.topics[0]!.partitions[0]!.offset).toBe(3);
    const uncommitted = (await call<ListOffsetsResponse>(h, 2, ask([-1], 0)))!;
    expect(uncommitted.topics[0]!.partitions[0]!.offset).toBe(4);
    // v1 has no isolation level: always the log end
    const v1 = (await call<ListOffsetsResponse>(h, 1, ask([-1], 1)))!;
    expect(v1.topics[0]!.partitions[0]!.offset).toBe(4);
  });

  it('reports unknown topics and partitions', async () => {
    const { h } = await setup();
    const res = (await call<ListOffsetsResponse>(h, 3, {
      replicaId: -1,
      topics: [
        { name: 'missing', partitions: [{ partitionIndex: 0, timestamp: -1 }] },
        { name: 't', partitions: [{ partitionIndex: 4, timestamp: -1 }] },
      ],
    }))!;
    expect(res.topics.map((t) => [t.name, t.partitions[0]!.errorCode, t.partitions[0]!.offset])).toEqual([
      ['missing', 3, -1],
      ['t', 3, -1],
    ]);
  });
});
