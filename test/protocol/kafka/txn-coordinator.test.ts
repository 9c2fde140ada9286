import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeControlBatch, encodeRecordBatch } from '../../../src/log/index.js';
import type { KafkaApiHandler } from '../../../src/protocol/kafka/handler.js';
import { createGroupCoordinator, type GroupCoordinator } from '../../../src/protocol/kafka/groups/index.js';
import { createProduceHandler } from '../../../src/protocol/kafka/handlers/produce.js';
import { TxnStore } from '../../../src/protocol/kafka/txn/store.js';
import { createTransactionSupport, type TransactionSupport } from '../../../src/protocol/kafka/txn/index.js';
import { call, openTestBroker, type TestBroker } from './handler-context.js';

interface Setup {
  broker: TestBroker;
  groups: GroupCoordinator;
  txn: TransactionSupport;
  api(key: number): KafkaApiHandler<never, unknown>;
}

const setups: Setup[] = [];
/** Next sequence number per producer id and epoch, as an idempotent producer keeps them. */
const sequences = new Map<string, number>();
const dirs: string[] = [];

afterEach(async () => {
  for (const s of setups.splice(0)) await closeSetup(s);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function closeSetup(s: Setup): Promise<void> {
  s.txn.close();
  await s.groups.close();
  await s.broker.close();
}

async function setup(dataDir?: string): Promise<Setup> {
  sequences.clear(); // producer ids start over in a fresh data dir
  const broker = await openTestBroker({}, dataDir);
  const groups = createGroupCoordinator(broker.ctx);
  const txn = createTransactionSupport(broker.ctx, groups);
  const produce = createProduceHandler(broker.ctx, undefined, (t, p, r) => txn.coordinator.checkProduce(t, p, r));
  const all = [...txn.handlers, produce] as KafkaApiHandler<never, unknown>[];
  const s: Setup = {
    broker,
    groups,
    txn,
    api: (key) => all.find((h) => h.apiKey === key)!,
  };
  setups.push(s);
  return s;
}

interface Ids {
  producerId: number;
  producerEpoch: number;
}

async function initTxn(s: Setup, transactionalId: string, version = 1): Promise<Ids & { errorCode: number }> {
  return (await call<Ids & { errorCode: number }>(s.api(22), version, { transactionalId, transactionTimeoutMs: 60_000 }))!;
}

async function addPartitions(s: Setup, id: string, ids: Ids, topics: Array<{ name: string; partitions: number[] }>, version = 1) {
  const res = (await call<{ resultsByTopicV3AndBelow: Array<{ name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }> }>(
    s.api(24),
    version,
    { v3AndBelowTransactionalId: id, v3AndBelowProducerId: ids.producerId, v3AndBelowProducerEpoch: ids.producerEpoch, v3AndBelowTopics: topics },
  ))!;
  return res.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => [t.name, p.partitionIndex, p.partitionErrorCode]));
}

async function addOffsets(s: Setup, id: string, ids: Ids, groupId: string): Promise<number> {
  return (await call<{ errorCode: number }>(s.api(25), 1, { transactionalId: id, ...ids, groupId }))!.errorCode;
}

async function txnOffsetCommit(s: Setup, id: string, ids: Ids, groupId: string, topic: string, offsets: Record<number, number>) {
  const res = (await call<{ topics: Array<{ partitions: Array<{ partitionIndex: number; errorCode: number }> }> }>(s.api(28), 2, {
    transactionalId: id,
    groupId,
    ...ids,
    topics: [{ name: topic, partitions: Object.entries(offsets).map(([p, o]) => ({ partitionIndex: Number(p), committedOffset: o, committedLeaderEpoch: -1, committedMetadata: null })) }],
  }))!;
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

async function endTxn(s: Setup, id: string, ids: Ids, committed: boolean): Promise<number> {
  return (await call<{ errorCode: number }>(s.api(26), 1, { transactionalId: id, ...ids, committed }))!.errorCode;
}

async function produce(s: Setup, topic: string, partition: number, ids: Ids, value: string, opts: { transactional?: boolean; control?: boolean } = {}): Promise<number> {
  const records = opts.control
    ? encodeControlBatch({ ...ids, commit: true })
    : encodeRecordBatch({ records: [{ value }], ...ids, baseSequence: nextSequence(ids), transactional: opts.transactional ?? true });
  const res = (await call<{ responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> }>(s.api(0), 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  }))!;
  return res.responses[0]!.partitionResponses[0]!.errorCode;
}

function nextSequence(ids: Ids): number {
  const k = `${ids.producerId}/${ids.producerEpoch}`;
  const n = sequences.get(k) ?? 0;
  sequences.set(k, n + 1);
  return n;
}

/** What a read_committed consumer gets: values below the LSO, minus records of aborted transactions. */
function readCommitted(s: Setup, topic: string, partition: number): { values: string[]; lso: number; hw: number } {
  const log = s.broker.ctx.log.partition(topic, partition)!;
  const res = log.read(0, 1 << 20, 'read_committed');
  // As clients filter: a producer's batches are dropped from the first offset of one of its aborted
  // transactions up to its next marker.
  const pendingAborts = [...res.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  const aborting = new Set<number>();
  const values: string[] = [];
  for (const b of decodeRecordBatches(Buffer.concat(res.chunks))) {
    while (pendingAborts.length > 0 && pendingAborts[0]!.firstOffset <= b.lastOffset) aborting.add(pendingAborts.shift()!.producerId);
    if (b.isControl) {
      aborting.delete(b.producerId);
      continue;
    }
    if (b.isTransactional && aborting.has(b.producerId)) continue;
    for (const r of b.records) if (r.offset < res.lastStableOffset) values.push(r.value!.toString());
  }
  return { values, lso: res.lastStableOffset, hw: res.highWatermark };
}

describe('transaction coordinator', () => {
  it('answers with the protocol errors for unknown ids, zombies, unknown partitions and wrong states', async () => {
    const s = await setup();
    s.broker.ctx.log.createTopic('t', { partitions: 2 });
    const ids = await initTxn(s, 'tx');
    expect(ids.errorCode).toBe(0);

    expect(await addPartitions(s, 'nobody', ids, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, 49]]);
    expect(await addPartitions(s, 'tx', { ...ids, producerId: ids.producerId + 1 }, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, 49]]);
    expect(await endTxn(s, 'tx', ids, true)).toBe(48); // nothing begun
    expect(await addPartitions(s, 'tx', ids, [{ name: 't', partitions: [0, 7] }, { name: 'nope', partitions: [0] }])).toEqual([
      ['t', 0, 55],
      ['t', 7, 3],
      ['nope', 0, 3],
    ]);
    expect(await addPartitions(s, 'tx', ids, [{ name: 't', partitions: [0, 1] }])).toEqual([
      ['t', 0, 0],
      ['t', 1, 0],
    ]);
    // Offsets of a group the transaction has not added are refused.
    expect(await txnOffsetCommit(s, 'tx', ids, 'g', 't', { 0: 4 })).toEqual([48]);

    const pending = call<{ errorCode: number }>(s.api(26), 1, { transactionalId: 'tx', ...ids, committed: true });
    // While its markers are written the transaction is decided but not finished.
    expect(await addPartitions(s, 'tx', ids, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, 51]]);
    expect(await endTxn(s, 'tx', ids, false)).toBe(48);
    expect((await pending)!.errorCode).toBe(0);
    expect(await endTxn(s, 'tx', ids, true)).toBe(0); // a retried commit
    expect(await endTxn(s, 'tx', ids, false)).toBe(48);

    const bumped = await initTxn(s, 'tx');
    expect(bumped).toMatchObject({ errorCode: 0, producerId: ids.producerId, producerEpoch: ids.producerEpoch + 1 });
    // The old epoch is fenced: INVALID_PRODUCER_EPOCH below v2 (what kafkajs and librdkafka send) ...
    expect(await addPartitions(s, 'tx', ids, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, 47]]);
    expect(await endTxn(s, 'tx', ids, true)).toBe(47);
    // ... and PRODUCER_FENCED for InitProducerId v4 (librdkafka's KIP-360 re-init with a stale epoch).
    const stale = (await call<{ errorCode: number }>(s.api(22), 4, { transactionalId: 'tx', transactionTimeoutMs: 60_000, ...ids }))!;
    expect(stale.errorCode).toBe(90);
  });

  it('refuses transactional batches outside the producer’s open transaction', async () => {
    const s = await setup();
    s.broker.ctx.log.createTopic('p', { partitions: 2 });
    const ids = await initTxn(s, 'tx-p');
    expect(await produce(s, 'p', 0, ids, 'early')).toBe(48); // no transaction yet
    expect(await addPartitions(s, 'tx-p', ids, [{ name: 'p', partitions: [0] }])).toEqual([['p', 0, 0]]);
    expect(await produce(s, 'p', 0, ids, 'in')).toBe(0);
    expect(await produce(s, 'p', 1, ids, 'not added')).toBe(48);
    expect(await produce(s, 'p', 0, ids, 'marker', { control: true })).toBe(87); // clients do not write markers
    expect(await produce(s, 'p', 1, { producerId: 999, producerEpoch: 0 }, 'plain', { transactional: false })).toBe(0);
    // Fenced while open: the zombie's next batch is refused for its epoch.
    await initTxn(s, 'tx-p');
    expect(await produce(s, 'p', 0, ids, 'zombie')).toBe(47);
    const read = readCommitted(s, 'p', 0);
    expect(read.values).toEqual([]); // 'in' was aborted when the producer was fenced
    expect(read.lso).toBe(read.hw);
  });

  it('aborts an open transaction under its own producer id when fencing moves the id to a new one', async () => {
    const s = await setup();
    s.broker.ctx.log.createTopic('x', { partitions: 1 });
    await initTxn(s, 'tx-x');
    // One epoch short of exhaustion: the next InitProducerId hands out a fresh producer id.
    s.broker.ctx.db.prepare('UPDATE kafka_transactional_producers SET producer_epoch = 32765 WHERE transactional_id = ?').run('tx-x');
    const ids = await initTxn(s, 'tx-x');
    expect(ids.producerEpoch).toBe(32766);
    expect(await addPartitions(s, 'tx-x', ids, [{ name: 'x', partitions: [0] }])).toEqual([['x', 0, 0]]);
    expect(await produce(s, 'x', 0, ids, 'old')).toBe(0);
    const moved = await initTxn(s, 'tx-x');
    expect(moved.producerId).not.toBe(ids.producerId);
    const read = readCommitted(s, 'x', 0);
    expect(read.values).toEqual([]);
    expect(read.lso).toBe(read.hw); // the old producer id's transaction is over, not holding readers back
    expect(await addPartitions(s, 'tx-x', moved, [{ name: 'x', partitions: [0] }])).toEqual([['x', 0, 0]]);
    expect(await produce(s, 'x', 0, moved, 'new')).toBe(0);
    expect(await endTxn(s, 'tx-x', moved, true)).toBe(0);
    expect(readCommitted(s, 'x', 0).values).toEqual(['new']);
  });

  it('commit applies pending offsets to the group; abort drops them', async () => {
    const s = await setup();
    s.broker.ctx.log.createTopic('o', { partitions: 1 });
    const ids = await initTxn(s, 'tx-o');
    expect(await addOffsets(s, 'tx-o', ids, 'grp')).toBe(0);
    expect(await txnOffsetCommit(s, 'tx-o', ids, 'grp', 'o', { 0: 11 })).toEqual([0]);
    expect(s.groups.committedOffsets('grp')).toEqual([]);
    expect(await endTxn(s, 'tx-o', ids, false)).toBe(0);
    expect(s.groups.committedOffsets('grp')).toEqual([]);

    expect(await addOffsets(s, 'tx-o', ids, 'grp')).toBe(0);
    expect(await txnOffsetCommit(s, 'tx-o', ids, 'grp', 'o', { 0: 12 })).toEqual([0]);
    expect(await endTxn(s, 'tx-o', ids, true)).toBe(0);
    expect(s.groups.committedOffsets('grp')).toMatchObject([{ topic: 'o', partition: 0, offset: 12 }]);

    // v3 (KIP-447): a consumer naming a member the group does not have is refused; no member is fine.
    expect(await addOffsets(s, 'tx-o', ids, 'grp')).toBe(0);
    const v3 = (member: Record<string, unknown>) =>
      call<{ topics: Array<{ partitions: Array<{ errorCode: number }> }> }>(s.api(28), 3, {
        transactionalId: 'tx-o',
        groupId: 'grp',
        ...ids,
        ...member,
        topics: [{ name: 'o', partitions: [{ partitionIndex: 0, committedOffset: 13, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    expect((await v3({ generationId: 4, memberId: 'ghost', groupInstanceId: null }))!.topics[0]!.partitions[0]!.errorCode).toBe(25);
    expect((await v3({ generationId: -1, memberId: '', groupInstanceId: null }))!.topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(await endTxn(s, 'tx-o', ids, true)).toBe(0);
    expect(s.groups.committedOffsets('grp')).toMatchObject([{ topic: 'o', partition: 0, offset: 13 }]);
  });

  it('forgets finished transactions of ids idle past transactional.id.expiration.ms', async () => {
    const s = await setup();
    s.broker.ctx.log.createTopic('e', { partitions: 1 });
    const ids = await initTxn(s, 'tx-e');
    expect(await addPartitions(s, 'tx-e', ids, [{ name: 'e', partitions: [0] }])).toEqual([['e', 0, 0]]);
    const day = 24 * 60 * 60 * 1000;
    expect(s.txn.coordinator.expireIdle(Date.now() + 30 * day, 7 * day)).toBe(0); // open transactions stay
    expect(await endTxn(s, 'tx-e', ids, true)).toBe(0);
    expect(s.txn.coordinator.expireIdle(Date.now() + day, 7 * day)).toBe(0);
    expect(s.txn.coordinator.expireIdle(Date.now() + 8 * day, 7 * day)).toBe(1);
    expect(s.txn.coordinator.stateOf('tx-e')).toBeUndefined();
    expect(new TxnStore(s.broker.ctx.db).loadAll().map((t) => t.transactionalId)).not.toContain('tx-e');
    // The producer id stays: the same session carries on with a new transaction.
    expect(await addPartitions(s, 'tx-e', ids, [{ name: 'e', partitions: [0] }])).toEqual([['e', 0, 0]]);
    expect(await produce(s, 'e', 0, ids, 'again')).toBe(0);
    expect(await endTxn(s, 'tx-e', ids, true)).toBe(0);
    expect(readCommitted(s, 'e', 0).values).toEqual(['again']);
  });

  it('after a crash completes decided transactions and aborts open ones under a new epoch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-txn-'));
    dirs.push(dir);
    let s = await setup(dir);
    s.broker.ctx.log.createTopic('r', { partitions: 1 });
    const decided = await initTxn(s, 'tx-decided');
    const open = await initTxn(s, 'tx-open');
    expect(await addPartitions(s, 'tx-decided', decided, [{ name: 'r', partitions: [0] }])).toEqual([['r', 0, 0]]);
    expect(await addPartitions(s, 'tx-open', open, [{ name: 'r', partitions: [0] }])).toEqual([['r', 0, 0]]);
    expect(await addOffsets(s, 'tx-decided', decided, 'grp-r')).toBe(0);
    expect(await txnOffsetCommit(s, 'tx-decided', decided, 'grp-r', 'r', { 0: 2 })).toEqual([0]);
    expect(await produce(s, 'r', 0, decided, 'd0')).toBe(0);
    expect(await produce(s, 'r', 0, open, 'o0')).toBe(0);
    expect(await produce(s, 'r', 0, decided, 'd1')).toBe(0);
    // The broker died right after recording the commit decision, before any marker was written.
    const store = new TxnStore(s.broker.ctx.db);
    const row = store.loadAll().find((t) => t.transactionalId === 'tx-decided')!;
    store.save({ ...row, state: 'PrepareCommit' });
    expect(readCommitted(s, 'r', 0).lso).toBe(0);
    setups.splice(setups.indexOf(s), 1);
    await closeSetup(s);

    s = await setup(dir);
    await s.txn.recovered;
    const read = readCommitted(s, 'r', 0);
    expect(read.values).toEqual(['d0', 'd1']);
    expect(read.lso).toBe(read.hw);
    expect(s.groups.committedOffsets('grp-r')).toMatchObject([{ topic: 'r', partition: 0, offset: 2 }]);
    expect(s.txn.coordinator.stateOf('tx-decided')).toBe('CompleteCommit');
    expect(s.txn.coordinator.stateOf('tx-open')).toBe('CompleteAbort');
    // The open transaction's producer is fenced; a new session gets the next epoch.
    expect(await endTxn(s, 'tx-open', open, true)).toBe(47);
    expect(await initTxn(s, 'tx-open')).toMatchObject({ errorCode: 0, producerId: open.producerId, producerEpoch: open.producerEpoch + 2 });
  });
});
