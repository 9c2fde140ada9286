import { afterEach, describe, expect, it } from 'vitest';
import { createProduceHandler } from '../../../src/protocol/kafka/handlers/produce.js';
import type { ProduceResponse } from '../../../src/protocol/kafka/generated/index.js';
import { decodeRecordBatches, encodeRecordBatch } from '../../../src/log/index.js';
import { call, openTestBroker, requestContext, type TestBroker } from './handler-context.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

const batch = (values: string[], compression: 'none' | 'gzip' = 'none') => encodeRecordBatch({ records: values.map((value) => ({ value })), compression });

function partitionsOf(res: ProduceResponse) {
  return res.responses.flatMap((t) => t.partitionResponses.map((p) => ({ topic: t.name, ...p })));
}

describe('Produce handler', () => {
  it('appends to several partitions in one request and returns base offsets (acks -1 and 1)', async () => {
    broker = await openTestBroker({ defaultPartitions: 2 });
    const h = createProduceHandler(broker.ctx);
    const req = (acks: number) => ({
      acks,
      timeoutMs: 1000,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch(['a', 'b']) }, { index: 1, records: batch(['c'], 'gzip') }] }],
    });
    const first = partitionsOf((await call<ProduceResponse>(h, 7, req(-1)))!);
    expect(first.map((p) => [p.index, p.errorCode, p.baseOffset])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(first[0]!.logAppendTimeMs).toBe(-1);
    expect(first[0]!.logStartOffset).toBe(0);
    const second = partitionsOf((await call<ProduceResponse>(h, 3, req(1)))!);
    expect(second.map((p) => p.baseOffset)).toEqual([2, 1]);
    const p1 = broker.ctx.log.partition('orders', 1)!;
    expect(p1.logEndOffset).toBe(2);
    const stored = decodeRecordBatches(Buffer.concat(p1.read(0, 1 << 20).chunks));
    expect(stored.flatMap((b) => b.records.map((r) => [r.offset, r.value!.toString()]))).toEqual([
      [0, 'c'],
      [1, 'c'],
    ]);
  });

  it('sends no answer for acks 0 but still appends', async () => {
    broker = await openTestBroker();
    const h = createProduceHandler(broker.ctx);
    const res = await call<ProduceResponse>(h, 7, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'fire', partitionData: [{ index: 0, records: batch(['x']) }] }] });
    expect(res).toBeNull();
    const p = broker.ctx.log.partition('fire', 0)!;
    if (p.logEndOffset === 0) await new Promise<void>((resolve) => p.onAppend(resolve));
    expect(p.logEndOffset).toBe(1);
  });

  it('with a loaned frame, settles only after its appends and passes them as transient, acks 0 included', async () => {
    broker = await openTestBroker();
    const h = createProduceHandler(broker.ctx);
    const big = 'L'.repeat(6000);
    for (const acks of [0, 1]) {
      const records = Buffer.from(batch([`${big}${acks}`]));
      const rc = { ...requestContext(0, 7), frameLoaned: true };
      const answer = h.handle({ acks, timeoutMs: 1000, transactionalId: null, topicData: [{ name: 'loan', partitionData: [{ index: 0, records }] }] }, rc);
      expect(answer).toBeInstanceOf(Promise);
      const res = await answer;
      if (acks === 0) expect(res).toBeNull();
      const p = broker.ctx.log.partition('loan', 0)!;
      // Settled: the append is written, and the buffer may be reused at once.
      expect(p.logEndOffset).toBe(acks + 1);
      records.fill(0);
    }
    const p = broker.ctx.log.partition('loan', 0)!;
    const stored = decodeRecordBatches(Buffer.concat(p.read(0, 1 << 20).chunks), { verifyCrc: true });
    expect(stored.flatMap((b) => b.records.map((r) => r.value!.toString()))).toEqual([`${big}0`, `${big}1`]);
  });

  it('rejects bad acks, v0-2 requests, unknown partitions, missing and corrupt records per partition', async () => {
    broker = await openTestBroker();
    broker.ctx.log.createTopic('t', { partitions: 1 });
    const h = createProduceHandler(broker.ctx);
    const one = (records: Buffer | null, index = 0) => ({ name: 't', partitionData: [{ index, records }] });
    const badAcks = partitionsOf((await call<ProduceResponse>(h, 7, { acks: 2, topicData: [one(batch(['a']))] }))!);
    expect(badAcks[0]).toMatchObject({ errorCode: 21, baseOffset: -1 });
    const old = partitionsOf((await call<ProduceResponse>(h, 2, { acks: 1, topicData: [one(batch(['a']))] }))!);
    expect(old[0]!.errorCode).toBe(35);

    const corrupt = batch(['z']);
    corrupt[corrupt.length - 1] ^= 0xff; // breaks the CRC
    const mixed = partitionsOf(
      (await call<ProduceResponse>(h, 7, {
        acks: -1,
        topicData: [one(corrupt), one(batch(['ok'])), one(batch(['a']), 9), one(null)],
      }))!,
    );
    expect(mixed.map((p) => p.errorCode)).toEqual([2, 0, 3, 2]);
    expect(mixed[1]!.baseOffset).toBe(0);
    expect(broker.ctx.log.partition('t', 0)!.logEndOffset).toBe(1);
  });

  it('auto-creates the topic on produce unless disabled', async () => {
    broker = await openTestBroker({ autoCreateTopics: false });
    const h = createProduceHandler(broker.ctx);
    const res = partitionsOf((await call<ProduceResponse>(h, 7, { acks: 1, topicData: [{ name: 'ghost', partitionData: [{ index: 0, records: batch(['a']) }] }] }))!);
    expect(res[0]!.errorCode).toBe(3);
    expect(broker.ctx.log.topic('ghost')).toBeUndefined();
  });
});
