import type { Logger } from '../../../logger.js';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, BATCH_HEADER_SIZE, F, readInt64 } from '../../../log/batch-format.js';
import { encodeControlBatch } from '../../../log/record-batch.js';
import { LogError, LogErrorCode, type LogStore } from '../../../log/types.js';
import type { Db } from '../../../store/sqlite.js';
import type { ProducerIdAndEpoch, ProducerIdStore } from '../handlers/init-producer-id.js';
import { TxnError } from './errors.js';
import { TxnStore, type PendingOffset, type TopicPartitionRef, type TxnHeader, type TxnState } from './store.js';

/** Kafka's `offset.metadata.max.bytes` default, as the group coordinator applies it to plain commits. */
const MAX_METADATA_LENGTH = 4096;
/** Epochs are int16. */
const MAX_EPOCH = 32767;
/** Pause before writing the markers that failed again (a full disk, a partition being reopened). */
const MARKER_RETRY_MS = 500;

/** Where committed transactional offsets go: the group coordinator's offsets. */
export interface TxnOffsetSink {
  commitTransactionalOffsets(groupId: string, entries: readonly PendingOffset[]): void;
  /** The consumer's generation check of TxnOffsetCommit v3+ (0 = allowed). */
  checkTransactionalCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number;
}

/** The consumer a TxnOffsetCommit v3+ commits for; v0–2 carry none (generation -1, no member id). */
export interface TxnCommitMember {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface TransactionCoordinatorOptions {
  db: Db;
  log: LogStore;
  logger: Logger;
  producerIds: ProducerIdStore;
  groups: TxnOffsetSink;
}

interface Txn extends TxnHeader {
  /** `topic\0partition` -> the partition, for the produce check. */
  partitions: Map<string, TopicPartitionRef>;
  groups: Set<string>;
  /** groupId -> `topic\0partition` -> offset. */
  offsets: Map<string, Map<string, PendingOffset>>;
  timer?: NodeJS.Timeout;
  /** Set while the markers of a decided transaction are being written. */
  completing?: Promise<void>;
  /** Last request or state change, for expiring idle transactional ids. */
  lastActive: number;
}

export interface PartitionResult extends TopicPartitionRef {
  errorCode: number;
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

function header(t: Txn): TxnHeader {
  return {
    transactionalId: t.transactionalId,
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    state: t.state,
    timeoutMs: t.timeoutMs,
    startedAt: t.startedAt,
  };
}

/**
 * The id and epoch to write a transaction's markers with: its own producer id (the one its records carry,
 * or the marker would not end it) under the id's current epoch, which fences older writes. When the
 * transactional id moved to a fresh producer id (epoch exhausted), one past the old epoch instead.
 */
function markerIdentity(t: ProducerIdAndEpoch, current: ProducerIdAndEpoch): ProducerIdAndEpoch {
  if (current.producerId === t.producerId) return current;
  return { producerId: t.producerId, producerEpoch: Math.min(t.producerEpoch + 1, MAX_EPOCH) };
}

function isPreparing(state: TxnState): boolean {
  return state === 'PrepareCommit' || state === 'PrepareAbort';
}

/**
 * Kafka's transaction coordinator (KIP-98) for this one broker: which partitions and groups each
 * transactional id's open transaction touches, the offsets it will commit, and finishing it by writing a
 * COMMIT or ABORT marker to each of its partitions. Producer ids and epochs are the InitProducerId
 * store's; every decision is in SQLite (TxnStore) before it is carried out.
 */
export class TransactionCoordinator {
  private readonly txns = new Map<string, Txn>();
  private readonly byProducer = new Map<number, Txn>();
  private readonly store: TxnStore;
  private closed = false;

  constructor(private readonly opts: TransactionCoordinatorOptions) {
    this.store = new TxnStore(opts.db);
  }

  /**
   * Loads the transaction log and settles what a crash or stop left behind: decided transactions get the
   * rest of their markers; open ones are aborted under a new epoch, so their producer, if still alive,
   * is fenced rather than carrying on into a transaction that no longer holds its earlier records.
   * The state is loaded before this returns; the promise settles once every marker is written
   * (meanwhile those transactional ids answer CONCURRENT_TRANSACTIONS, as Kafka's do while loading).
   */
  recover(): Promise<void> {
    for (const s of this.store.loadAll()) {
      const t: Txn = {
        ...s,
        partitions: new Map(s.partitions.map((p) => [key(p.topic, p.partition), p])),
        groups: new Set(s.groups),
        offsets: new Map(),
        lastActive: Date.now(),
      };
      for (const { groupId, ...o } of s.offsets) this.pendingOf(t, groupId).set(key(o.topic, o.partition), o);
      this.txns.set(t.transactionalId, t);
      this.byProducer.set(t.producerId, t);
    }
    const work: Promise<void>[] = [];
    for (const t of this.txns.values()) {
      if (t.state === 'Ongoing') {
        this.opts.logger.info('aborting a transaction left open by the last run', { transactionalId: t.transactionalId });
        work.push(this.finish(t, false, this.bumpEpoch(t)));
      } else if (isPreparing(t.state)) {
        const cur = this.opts.producerIds.get(t.transactionalId) ?? t;
        work.push(this.finish(t, t.state === 'PrepareCommit', markerIdentity(t, cur)));
      }
    }
    return Promise.all(work).then(() => undefined);
  }

  close(): void {
    this.closed = true;
    for (const t of this.txns.values()) clearTimeout(t.timer);
  }

  /**
   * InitProducerId gave the transactional id a new epoch (or producer id): a transaction being finished
   * finishes as decided, and one still open is aborted under the new epoch, which also fences its writes.
   */
  async onFence(transactionalId: string, current: ProducerIdAndEpoch): Promise<void> {
    const t = this.txns.get(transactionalId);
    if (!t) return;
    if (t.completing) await t.completing.catch(() => undefined);
    const marker = markerIdentity(t, current);
    this.syncIdentity(t, current);
    if (t.state === 'Ongoing') await this.finish(t, false, marker);
  }

  /** AddPartitionsToTxn: per-partition codes; nothing is added unless every partition exists. */
  addPartitions(transactionalId: string, producerId: number, producerEpoch: number, fenced: number, wanted: readonly TopicPartitionRef[]): PartitionResult[] {
    const all = (errorCode: number) => wanted.map((p) => ({ topic: p.topic, partition: p.partition, errorCode }));
    const t = this.openable(transactionalId, producerId, producerEpoch, fenced);
    if (typeof t === 'number') return all(t);
    const missing = wanted.filter((p) => !this.opts.log.partition(p.topic, p.partition));
    if (missing.length > 0) {
      const bad = new Set(missing.map((p) => key(p.topic, p.partition)));
      return wanted.map((p) => ({
        ...p,
        errorCode: bad.has(key(p.topic, p.partition)) ? TxnError.UNKNOWN_TOPIC_OR_PARTITION : TxnError.OPERATION_NOT_ATTEMPTED,
      }));
    }
    const added = wanted.filter((p) => !(t.state === 'Ongoing' && t.partitions.has(key(p.topic, p.partition))));
    if (added.length > 0 || t.state !== 'Ongoing') {
      const failed = this.persistBegin(t, { partitions: added });
      if (failed) return all(failed);
      for (const p of added) t.partitions.set(key(p.topic, p.partition), { topic: p.topic, partition: p.partition });
    }
    return all(TxnError.NONE);
  }

  /** AddOffsetsToTxn: the group's offsets become part of the transaction. */
  addOffsets(transactionalId: string, producerId: number, producerEpoch: number, fenced: number, groupId: string): number {
    if (groupId === '') return TxnError.INVALID_GROUP_ID;
    const t = this.openable(transactionalId, producerId, producerEpoch, fenced);
    if (typeof t === 'number') return t;
    if (t.state === 'Ongoing' && t.groups.has(groupId)) return TxnError.NONE;
    const failed = this.persistBegin(t, { groups: [groupId] });
    if (failed) return failed;
    t.groups.add(groupId);
    return TxnError.NONE;
  }

  /**
   * TxnOffsetCommit: offsets held back until the transaction commits (dropped if it aborts). The group
   * must have been added with AddOffsetsToTxn first, as Kafka's verification (KIP-890) requires.
   */
  commitOffsets(
    transactionalId: string,
    groupId: string,
    producerId: number,
    producerEpoch: number,
    member: TxnCommitMember,
    entries: readonly PendingOffset[],
  ): PartitionResult[] {
    const all = (errorCode: number) => entries.map((e) => ({ topic: e.topic, partition: e.partition, errorCode }));
    if (groupId === '') return all(TxnError.INVALID_GROUP_ID);
    // This API never learnt PRODUCER_FENCED: a zombie gets INVALID_PRODUCER_EPOCH at every version.
    const t = this.identify(transactionalId, producerId, producerEpoch, TxnError.INVALID_PRODUCER_EPOCH);
    if (typeof t === 'number') return all(t);
    if (isPreparing(t.state)) return all(TxnError.CONCURRENT_TRANSACTIONS);
    if (t.state !== 'Ongoing' || !t.groups.has(groupId)) return all(TxnError.INVALID_TXN_STATE);
    const memberError = this.opts.groups.checkTransactionalCommit(groupId, member.generationId, member.memberId, member.groupInstanceId);
    if (memberError !== TxnError.NONE) return all(memberError);
    const accepted = entries.filter((e) => e.metadata.length <= MAX_METADATA_LENGTH);
    try {
      this.store.putOffsets(transactionalId, groupId, accepted);
    } catch (err) {
      this.opts.logger.warn('could not record transactional offsets', { transactionalId, groupId, err });
      return all(TxnError.COORDINATOR_NOT_AVAILABLE);
    }
    const pending = this.pendingOf(t, groupId);
    for (const e of accepted) pending.set(key(e.topic, e.partition), e);
    return entries.map((e) => ({
      topic: e.topic,
      partition: e.partition,
      errorCode: e.metadata.length <= MAX_METADATA_LENGTH ? TxnError.NONE : TxnError.OFFSET_METADATA_TOO_LARGE,
    }));
  }

  /**
   * EndTxn. Answers once every marker is written (and the offsets applied), so a read_committed consumer
   * asked right after the client's commit returns already sees the records. A retry of a finished
   * EndTxn with the same outcome succeeds; the opposite outcome is INVALID_TXN_STATE.
   */
  async endTxn(transactionalId: string, producerId: number, producerEpoch: number, fenced: number, commit: boolean): Promise<number> {
    const t = this.identify(transactionalId, producerId, producerEpoch, fenced);
    if (typeof t === 'number') return t;
    switch (t.state) {
      case 'Ongoing':
        try {
          await this.finish(t, commit, { producerId, producerEpoch });
          return TxnError.NONE;
        } catch (err) {
          // Decided but not finished (the broker is stopping): the next start completes it; a retry then succeeds.
          this.opts.logger.warn('transaction decided but not finished', { transactionalId, err });
          return TxnError.COORDINATOR_NOT_AVAILABLE;
        }
      case 'PrepareCommit':
        return commit ? TxnError.CONCURRENT_TRANSACTIONS : TxnError.INVALID_TXN_STATE;
      case 'PrepareAbort':
        return commit ? TxnError.INVALID_TXN_STATE : TxnError.CONCURRENT_TRANSACTIONS;
      case 'CompleteCommit':
        return commit ? TxnError.NONE : TxnError.INVALID_TXN_STATE;
      case 'CompleteAbort':
        return commit ? TxnError.INVALID_TXN_STATE : TxnError.NONE;
      case 'Empty':
        return TxnError.INVALID_TXN_STATE;
    }
  }

  /**
   * The Produce check for transactional batches (0 = accept): the producer must be in an open
   * transaction that has the partition, under its current epoch. Without it a stray write would hold
   * the partition's last stable offset back until the producer's next transaction happened to end there.
   */
  checkProduce(topic: string, partition: number, records: Buffer): number {
    if (records.length < BATCH_HEADER_SIZE) return TxnError.NONE;
    const attributes = records.readInt16BE(F.attributes);
    if ((attributes & ATTR_TRANSACTIONAL) === 0) return TxnError.NONE;
    // Markers are the coordinator's to write; a client writing one could end another producer's transaction.
    if ((attributes & ATTR_CONTROL) !== 0) return LogErrorCode.INVALID_RECORD;
    const t = this.byProducer.get(readInt64(records, F.producerId));
    if (!t) return TxnError.INVALID_TXN_STATE;
    if (records.readInt16BE(F.producerEpoch) !== t.producerEpoch) return TxnError.INVALID_PRODUCER_EPOCH;
    if (t.state !== 'Ongoing' || !t.partitions.has(key(topic, partition))) return TxnError.INVALID_TXN_STATE;
    return TxnError.NONE;
  }

  /** A deleted topic leaves every transaction: there is nothing left to mark, nor offsets of it to commit. */
  forgetTopic(topic: string): void {
    this.store.forgetTopic(topic);
    for (const t of this.txns.values()) {
      for (const [k, p] of t.partitions) if (p.topic === topic) t.partitions.delete(k);
      for (const pending of t.offsets.values()) for (const [k, o] of pending) if (o.topic === topic) pending.delete(k);
    }
  }

  /**
   * Forgets the finished transactions of ids idle for longer than `maxIdleMs` (Kafka's
   * transactional.id.expiration.ms), so ids used once (tests, short jobs) do not pile up in memory and
   * SQLite. The id's producer id and epoch stay with InitProducerId, so a returning producer is still
   * told apart from its zombies. Returns how many were forgotten.
   */
  expireIdle(now: number, maxIdleMs: number): number {
    let n = 0;
    for (const t of this.txns.values()) {
      const finished = t.state === 'Empty' || t.state === 'CompleteCommit' || t.state === 'CompleteAbort';
      if (!finished || t.completing || now - t.lastActive <= maxIdleMs) continue;
      this.store.delete(t.transactionalId);
      this.txns.delete(t.transactionalId);
      if (this.byProducer.get(t.producerId) === t) this.byProducer.delete(t.producerId);
      n++;
    }
    return n;
  }

  /** The state of a transactional id's latest transaction (for tests and the admin views). */
  stateOf(transactionalId: string): TxnState | undefined {
    return this.txns.get(transactionalId)?.state;
  }

  // ---- internals ----

  private pendingOf(t: Txn, groupId: string): Map<string, PendingOffset> {
    let m = t.offsets.get(groupId);
    if (!m) t.offsets.set(groupId, (m = new Map()));
    return m;
  }

  /** Checks the caller is the transactional id's current producer; returns its transaction or the error code. */
  private identify(transactionalId: string, producerId: number, producerEpoch: number, fenced: number): Txn | number {
    if (this.closed) return TxnError.COORDINATOR_NOT_AVAILABLE;
    const cur = this.opts.producerIds.get(transactionalId);
    if (!cur || cur.producerId !== producerId) return TxnError.INVALID_PRODUCER_ID_MAPPING;
    if (cur.producerEpoch !== producerEpoch) return fenced;
    let t = this.txns.get(transactionalId);
    if (!t) {
      t = {
        ...cur,
        state: 'Empty',
        timeoutMs: cur.transactionTimeoutMs,
        startedAt: 0,
        partitions: new Map(),
        groups: new Set(),
        offsets: new Map(),
        lastActive: Date.now(),
      };
      this.txns.set(transactionalId, t);
      this.byProducer.set(t.producerId, t);
    }
    this.syncIdentity(t, cur);
    t.timeoutMs = cur.transactionTimeoutMs;
    t.lastActive = Date.now();
    return t;
  }

  /** identify, then refuse while the previous transaction's markers are still being written. */
  private openable(transactionalId: string, producerId: number, producerEpoch: number, fenced: number): Txn | number {
    const t = this.identify(transactionalId, producerId, producerEpoch, fenced);
    if (typeof t === 'number') return t;
    return isPreparing(t.state) ? TxnError.CONCURRENT_TRANSACTIONS : t;
  }

  private syncIdentity(t: Txn, cur: ProducerIdAndEpoch): void {
    if (t.producerId !== cur.producerId) {
      if (this.byProducer.get(t.producerId) === t) this.byProducer.delete(t.producerId);
      t.producerId = cur.producerId;
      this.byProducer.set(t.producerId, t);
    }
    t.producerEpoch = cur.producerEpoch;
  }

  /**
   * Persists the transaction as Ongoing (beginning it if it was not) with what it gained. Returns an
   * error code if SQLite refused, leaving memory as it was.
   */
  private persistBegin(t: Txn, added: { partitions?: readonly TopicPartitionRef[]; groups?: readonly string[] }): number {
    const beginning = t.state !== 'Ongoing';
    const h = { ...header(t), state: 'Ongoing' as const, startedAt: beginning ? Date.now() : t.startedAt };
    try {
      this.store.save(h, added);
    } catch (err) {
      this.opts.logger.warn('could not record transaction state', { transactionalId: t.transactionalId, err });
      return TxnError.COORDINATOR_NOT_AVAILABLE;
    }
    if (beginning) {
      t.partitions.clear();
      t.groups.clear();
      t.offsets.clear();
      t.state = 'Ongoing';
      t.startedAt = h.startedAt;
      clearTimeout(t.timer);
      // Kafka's transaction.timeout.ms: an open transaction the producer forgets is aborted, not left to stall readers.
      t.timer = setTimeout(() => this.expire(t, h.startedAt), t.timeoutMs);
      t.timer.unref();
    }
    return TxnError.NONE;
  }

  /** Aborts a transaction past its timeout under a new epoch, as Kafka does, fencing the late producer. */
  private expire(t: Txn, startedAt: number): void {
    if (this.closed || t.state !== 'Ongoing' || t.startedAt !== startedAt) return;
    this.opts.logger.info('aborting a transaction past its timeout', { transactionalId: t.transactionalId, timeoutMs: t.timeoutMs });
    const failed = (err: unknown) => this.opts.logger.warn('aborting a timed-out transaction failed', { transactionalId: t.transactionalId, err });
    try {
      // Runs from a timer: SQLite refusing (a lock held past the busy timeout) must not take the broker down.
      this.finish(t, false, this.bumpEpoch(t)).catch(failed);
    } catch (err) {
      failed(err);
      // Still open: try again after another full timeout rather than never.
      t.timer = setTimeout(() => this.expire(t, startedAt), t.timeoutMs);
      t.timer.unref();
    }
  }

  /** Gives the transactional id its next epoch; returns the identity to write the open transaction's markers with. */
  private bumpEpoch(t: Txn): ProducerIdAndEpoch {
    const res = this.opts.producerIds.initTransactional(t.transactionalId, t.timeoutMs, null);
    // Without an expected identity the store always bumps; 'fenced' cannot come back.
    const cur = res === 'fenced' ? { producerId: t.producerId, producerEpoch: t.producerEpoch } : res.current;
    const marker = markerIdentity(t, cur);
    this.syncIdentity(t, cur);
    return marker;
  }

  /**
   * Decides (Prepare*, durable), writes the markers with `marker`'s id and epoch, then records the outcome
   * and, on commit, applies the pending offsets to their groups in the same SQLite transaction.
   */
  private finish(t: Txn, commit: boolean, marker: ProducerIdAndEpoch): Promise<void> {
    const decided: TxnState = commit ? 'PrepareCommit' : 'PrepareAbort';
    // Durable before anything is written: a crash from here on completes this outcome at the next start.
    this.store.save({ ...header(t), state: decided });
    clearTimeout(t.timer);
    t.timer = undefined;
    t.state = decided;
    const partitions = [...t.partitions.values()];
    const done = this.writeMarkers(partitions, commit, marker).then(() => {
      t.state = commit ? 'CompleteCommit' : 'CompleteAbort';
      t.startedAt = 0;
      t.lastActive = Date.now();
      const offsets = t.offsets;
      this.store.complete(header(t), commit ? () => this.applyOffsets(offsets) : undefined);
      t.partitions.clear();
      t.groups.clear();
      t.offsets = new Map();
    });
    t.completing = done.finally(() => {
      t.completing = undefined;
    });
    return t.completing;
  }

  private applyOffsets(offsets: Map<string, Map<string, PendingOffset>>): void {
    for (const [groupId, pending] of offsets) {
      if (pending.size > 0) this.opts.groups.commitTransactionalOffsets(groupId, [...pending.values()]);
    }
  }

  /** Appends a marker to each partition, retrying the ones that fail until they land or the broker stops. */
  private async writeMarkers(partitions: TopicPartitionRef[], commit: boolean, marker: ProducerIdAndEpoch): Promise<void> {
    let left = partitions;
    for (;;) {
      const failed: TopicPartitionRef[] = [];
      await Promise.all(
        left.map(async (p) => {
          const log = this.opts.log.partition(p.topic, p.partition);
          if (!log) return; // deleted since: nothing to mark
          try {
            await log.append(encodeControlBatch({ producerId: marker.producerId, producerEpoch: marker.producerEpoch, commit }));
          } catch (err) {
            if (err instanceof LogError && err.code === LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return;
            this.opts.logger.warn('transaction marker not written', { topic: p.topic, partition: p.partition, err });
            failed.push(p);
          }
        }),
      );
      if (failed.length === 0) return;
      if (this.closed) throw new Error(`${failed.length} transaction markers not written before the broker stopped`);
      await new Promise((r) => setTimeout(r, MARKER_RETRY_MS).unref());
      left = failed;
    }
  }
}
