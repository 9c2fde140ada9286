import { afterEach, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../src/protocol/kafka/handlers/fetch.js';
import type { FetchRequestInput, FetchResponse, FetchResponseInput } from '../../../src/protocol/kafka/generated/index.js';
import { decodeRecordBatches, encodeControlBatch, encodeRecordBatch } from '../../../src/log/index.js';
import { call, openTestBroker, requestContext, type TestBroker } from './handler-context.js';
import { decodeRequest, encodeRequest } from '../../../src/protocol/kafka/generated/index.js';
import { Reader, Writer } from '../../../src/protocol/kafka/wire.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

const batch = (values: string[]) => encodeRecordBatch({ records: values.map((value) => ({ value })) });

function fetchReq(parts: { topic?: string; partition?: number; offset: number; max?: number }[], opts: Partial<FetchRequestInput> = {}): FetchRequestInput {
  const byTopic = new Map<string, { partition: number; fetchOffset: number; partitionMaxBytes: number }[]>();
  for (const p of parts) {
    const t = p.topic ?? 't';
    if (!byTopic.has(t)) byTopic.set(t, []);
    byTopic.get(t)!.push({ partition: p.partition ?? 0, fetchOffset: p.offset, partitionMaxBytes: p.max ?? 1 << 20 });
  }
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 50 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    ...opts,
  };
}

const values = (records: Buffer | null) => (records ? decodeRecordBatches(records).flatMap((b) => b.records.map((r) => r.value!.toString())) : []);

async function setup(partitions = 1) {
  broker = await openTestBroker();
  broker.ctx.log.createTopic('t', { partitions });
  return { ctx: broker.ctx, h: createFetchHandler(broker.ctx) };
}

describe('Fetch handler', () => {
  it('returns stored batches from the asked offset, v4 and v11', async () => {
    const { ctx, h } = await setup();
    const p = ctx.log.partition('t', 0)!;
    await p.append(batch(['a', 'b']));
    await p.append(batch(['c']));
    for (const v of [4, 11]) {
      const res = (await call<FetchResponse>(h, v, fetchReq([{ offset: 0 }])))!;
      const part = res.responses[0]!.partitions[0]!;
      expect(part.errorCode).toBe(0);
      expect(part.highWatermark).toBe(3);
      expect(part.lastStableOffset).toBe(3);
      expect(values(part.records)).toEqual(['a', 'b', 'c']);
      expect(res.sessionId).toBe(0);
    }
    // from the middle of the first batch: the whole batch comes back, as Kafka does
    const mid = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 2 }])))!;
    expect(values(mid.responses[0]!.partitions[0]!.records)).toEqual(['c']);
  });

  it('hands the log chunks to the encoder as they are', async () => {
    const { ctx, h } = await setup();
    await ctx.log.partition('t', 0)!.append(batch(['a']));
    const decodedReq = { ...fetchReq([{ offset: 0 }]), clusterId: null } as never;
    const res = (await h.handle(decodedReq, requestContext(1, 11))) as FetchResponseInput;
    const records = res.responses![0]!.partitions![0]!.records;
    expect(Array.isArray(records)).toBe(true);
  });

  it('reports OFFSET_OUT_OF_RANGE and unknown partitions without waiting', async () => {
    const { ctx, h } = await setup();
    await ctx.log.partition('t', 0)!.append(batch(['a']));
    const res = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 5 }, { topic: 'missing', offset: 0 }], { maxWaitMs: 20_000 })))!;
    const [oor, missing] = res.responses.map((t) => t.partitions[0]!);
    expect(oor).toMatchObject({ errorCode: 1, highWatermark: 1, logStartOffset: 0 });
    expect(missing!.errorCode).toBe(3);
    expect(values(oor!.records)).toEqual([]);
  });

  it('long-polls: wakes on an append to any requested partition', async () => {
    const { ctx, h } = await setup(2);
    const pending = call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }, { partition: 1, offset: 0 }], { maxWaitMs: 25_000 }));
    let done = false;
    void pending.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    await ctx.log.partition('t', 1)!.append(batch(['late']));
    const res = (await pending)!;
    const parts = res.responses[0]!.partitions;
    expect(values(parts[0]!.records)).toEqual([]);
    expect(values(parts[1]!.records)).toEqual(['late']);
  });

  it('keeps waiting while fewer than minBytes are available, then answers at maxWaitMs', async () => {
    const { ctx, h } = await setup();
    const pending = call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }], { maxWaitMs: 300, minBytes: 1 << 20 }));
    await ctx.log.partition('t', 0)!.append(batch(['small']));
    const res = (await pending)!;
    expect(values(res.responses[0]!.partitions[0]!.records)).toEqual(['small']);
    const empty = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 1 }], { maxWaitMs: 50 })))!;
    expect(empty.responses[0]!.partitions[0]!).toMatchObject({ errorCode: 0, highWatermark: 1 });
    expect(values(empty.responses[0]!.partitions[0]!.records)).toEqual([]);
  });

  it('answers a waiting fetch when the broker starts closing', async () => {
    const { h } = await setup();
    const pending = call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }], { maxWaitMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 20));
    broker!.abort();
    const res = (await pending)!;
    expect(res.responses[0]!.partitions[0]!.errorCode).toBe(0);
  });

  it('releases a parked fetch when its connection closes', async () => {
    const { h } = await setup();
    const gone = new AbortController();
    const rc = requestContext(1, 11);
    rc.conn.closed = gone.signal;
    const w = new Writer();
    encodeRequest(1, 11, w, fetchReq([{ offset: 0 }], { maxWaitMs: 60_000 }));
    const pending = Promise.resolve(h.handle(decodeRequest(1, 11, new Reader(w.finish())) as never, rc));
    let answered = false;
    void pending.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    gone.abort();
    await pending;
    expect(answered).toBe(true);
  });

  it('returns the first batch even beyond the limits, then respects maxBytes and partitionMaxBytes', async () => {
    const { ctx, h } = await setup(2);
    const big = 'x'.repeat(2000);
    await ctx.log.partition('t', 0)!.append(batch([big]));
    await ctx.log.partition('t', 0)!.append(batch([big]));
    await ctx.log.partition('t', 1)!.append(batch([big]));
    const tight = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 0, max: 10 }, { partition: 1, offset: 0 }], { maxBytes: 100 })))!;
    const [p0, p1] = tight.responses[0]!.partitions;
    expect(values(p0!.records)).toEqual([big]);
    expect(values(p1!.records)).toEqual([]);
    expect(p1!.highWatermark).toBe(1);
    const roomy = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }, { partition: 1, offset: 0 }])))!;
    expect(roomy.responses[0]!.partitions.map((p) => values(p.records).length)).toEqual([2, 1]);
  });

  it('read_committed stops at the last stable offset and lists aborted transactions', async () => {
    const { ctx, h } = await setup();
    const p = ctx.log.partition('t', 0)!;
    const txn = { producerId: 7, producerEpoch: 0, transactional: true };
    await p.append(batch(['plain']));
    await p.append(encodeRecordBatch({ records: [{ value: 'aborted' }], ...txn, baseSequence: 0 }));
    await p.append(encodeControlBatch({ producerId: 7, producerEpoch: 0, commit: false }));
    await p.append(encodeRecordBatch({ records: [{ value: 'open' }], ...txn, baseSequence: 1 }));
    const committed = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }], { isolationLevel: 1 })))!.responses[0]!.partitions[0]!;
    expect(committed.lastStableOffset).toBe(3);
    expect(committed.highWatermark).toBe(4);
    expect(committed.abortedTransactions).toEqual([{ producerId: 7, firstOffset: 1 }]);
    expect(values(committed.records)).not.toContain('open');
    const uncommitted = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }])))!.responses[0]!.partitions[0]!;
    expect(values(uncommitted.records)).toContain('open');
  });

  it('declines fetch sessions it does not know', async () => {
    const { h } = await setup();
    const res = (await call<FetchResponse>(h, 11, fetchReq([{ offset: 0 }], { sessionId: 42, sessionEpoch: 3 })))!;
    expect(res.errorCode).toBe(70);
    expect(res.responses).toEqual([]);
  });
});
