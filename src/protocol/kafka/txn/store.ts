import type { Statement } from 'better-sqlite3';
import { migrate, type Db } from '../../../store/sqlite.js';

/**
 * Kafka's transaction states, less the ones a single broker never needs (Dead, PrepareEpochFence:
 * fencing here aborts in place). Prepare* is the durable decision; Complete* means every marker is written.
 */
export type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort';

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface PendingOffset extends TopicPartitionRef {
  offset: number;
  leaderEpoch: number;
  metadata: string;
}

export interface TxnHeader {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  state: TxnState;
  timeoutMs: number;
  /** When the current transaction began (its first AddPartitionsToTxn/AddOffsetsToTxn); 0 when none is open. */
  startedAt: number;
}

export interface StoredTxn extends TxnHeader {
  partitions: TopicPartitionRef[];
  groups: string[];
  /** Offsets sent with TxnOffsetCommit, applied to their groups only when the transaction commits. */
  offsets: Array<PendingOffset & { groupId: string }>;
}

const MIGRATIONS = [
  `CREATE TABLE kafka_txn (
     transactional_id TEXT PRIMARY KEY,
     producer_id INTEGER NOT NULL,
     producer_epoch INTEGER NOT NULL,
     state TEXT NOT NULL,
     timeout_ms INTEGER NOT NULL,
     started_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE kafka_txn_partitions (
     transactional_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     PRIMARY KEY (transactional_id, topic, partition)
   ) WITHOUT ROWID;
   CREATE TABLE kafka_txn_groups (
     transactional_id TEXT NOT NULL,
     group_id TEXT NOT NULL,
     PRIMARY KEY (transactional_id, group_id)
   ) WITHOUT ROWID;
   CREATE TABLE kafka_txn_offsets (
     transactional_id TEXT NOT NULL,
     group_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     "offset" INTEGER NOT NULL,
     leader_epoch INTEGER NOT NULL,
     metadata TEXT NOT NULL,
     PRIMARY KEY (transactional_id, group_id, topic, partition)
   ) WITHOUT ROWID;`,
];

/**
 * The transaction log of this broker, in SQLite: what Kafka keeps in `__transaction_state`. Every state
 * change is written here before it is acted on, so a restart finds each transaction either open (then
 * aborted), decided (then completed) or finished.
 */
export class TxnStore {
  private readonly upsert: Statement<[string, number, number, string, number, number]>;
  private readonly addPartition: Statement<[string, string, number]>;
  private readonly addGroupStmt: Statement<[string, string]>;
  private readonly putOffset: Statement<[string, string, string, number, number, number, string]>;
  private readonly clearPartitions: Statement<[string]>;
  private readonly clearGroups: Statement<[string]>;
  private readonly clearOffsets: Statement<[string]>;
  private readonly dropTopicPartitions: Statement<[string]>;
  private readonly dropTopicOffsets: Statement<[string]>;
  private readonly deleteTxn: Statement<[string]>;

  constructor(private readonly db: Db) {
    migrate(db, 'kafka-txn', MIGRATIONS);
    this.upsert = db.prepare(
      `INSERT INTO kafka_txn (transactional_id, producer_id, producer_epoch, state, timeout_ms, started_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (transactional_id) DO UPDATE SET producer_id = excluded.producer_id, producer_epoch = excluded.producer_epoch,
         state = excluded.state, timeout_ms = excluded.timeout_ms, started_at = excluded.started_at`,
    );
    this.addPartition = db.prepare('INSERT OR IGNORE INTO kafka_txn_partitions (transactional_id, topic, partition) VALUES (?, ?, ?)');
    this.addGroupStmt = db.prepare('INSERT OR IGNORE INTO kafka_txn_groups (transactional_id, group_id) VALUES (?, ?)');
    this.putOffset = db.prepare(
      `INSERT INTO kafka_txn_offsets (transactional_id, group_id, topic, partition, "offset", leader_epoch, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (transactional_id, group_id, topic, partition) DO UPDATE SET "offset" = excluded."offset",
         leader_epoch = excluded.leader_epoch, metadata = excluded.metadata`,
    );
    this.clearPartitions = db.prepare('DELETE FROM kafka_txn_partitions WHERE transactional_id = ?');
    this.clearGroups = db.prepare('DELETE FROM kafka_txn_groups WHERE transactional_id = ?');
    this.clearOffsets = db.prepare('DELETE FROM kafka_txn_offsets WHERE transactional_id = ?');
    this.dropTopicPartitions = db.prepare('DELETE FROM kafka_txn_partitions WHERE topic = ?');
    this.dropTopicOffsets = db.prepare('DELETE FROM kafka_txn_offsets WHERE topic = ?');
    this.deleteTxn = db.prepare('DELETE FROM kafka_txn WHERE transactional_id = ?');
  }

  loadAll(): StoredTxn[] {
    const headers = this.db
      .prepare(
        `SELECT transactional_id AS transactionalId, producer_id AS producerId, producer_epoch AS producerEpoch, state,
           timeout_ms AS timeoutMs, started_at AS startedAt FROM kafka_txn`,
      )
      .all() as TxnHeader[];
    const byId = new Map<string, StoredTxn>(headers.map((h) => [h.transactionalId, { ...h, partitions: [], groups: [], offsets: [] }]));
    const parts = this.db.prepare('SELECT transactional_id AS id, topic, partition FROM kafka_txn_partitions').all() as Array<TopicPartitionRef & { id: string }>;
    for (const p of parts) byId.get(p.id)?.partitions.push({ topic: p.topic, partition: p.partition });
    const groups = this.db.prepare('SELECT transactional_id AS id, group_id AS groupId FROM kafka_txn_groups').all() as Array<{ id: string; groupId: string }>;
    for (const g of groups) byId.get(g.id)?.groups.push(g.groupId);
    const offsets = this.db
      .prepare(
        `SELECT transactional_id AS id, group_id AS groupId, topic, partition, "offset", leader_epoch AS leaderEpoch, metadata
         FROM kafka_txn_offsets`,
      )
      .all() as Array<PendingOffset & { id: string; groupId: string }>;
    for (const { id, ...o } of offsets) byId.get(id)?.offsets.push(o);
    return [...byId.values()];
  }

  /** Writes the header and the partitions and groups it gained, in one transaction. */
  save(h: TxnHeader, added: { partitions?: readonly TopicPartitionRef[]; groups?: readonly string[] } = {}): void {
    this.db.transaction(() => {
      this.upsert.run(h.transactionalId, h.producerId, h.producerEpoch, h.state, h.timeoutMs, h.startedAt);
      for (const p of added.partitions ?? []) this.addPartition.run(h.transactionalId, p.topic, p.partition);
      for (const g of added.groups ?? []) this.addGroupStmt.run(h.transactionalId, g);
    })();
  }

  putOffsets(transactionalId: string, groupId: string, entries: readonly PendingOffset[]): void {
    this.db.transaction(() => {
      for (const e of entries) this.putOffset.run(transactionalId, groupId, e.topic, e.partition, e.offset, e.leaderEpoch, e.metadata);
    })();
  }

  /**
   * Records a finished transaction and forgets its partitions, groups and pending offsets. `alsoInside`
   * runs in the same SQLite transaction (applying committed offsets to their groups), so a crash leaves
   * either the decision to redo or its whole result, never half.
   */
  complete(h: TxnHeader, alsoInside?: () => void): void {
    this.db.transaction(() => {
      this.upsert.run(h.transactionalId, h.producerId, h.producerEpoch, h.state, h.timeoutMs, h.startedAt);
      this.clearPartitions.run(h.transactionalId);
      this.clearGroups.run(h.transactionalId);
      this.clearOffsets.run(h.transactionalId);
      alsoInside?.();
    })();
  }

  /** Forgets a finished transaction's row (its partitions, groups and offsets went when it completed). */
  delete(transactionalId: string): void {
    this.deleteTxn.run(transactionalId);
  }

  /** A deleted topic leaves every transaction (there is nothing left to mark). */
  forgetTopic(topic: string): void {
    this.db.transaction(() => {
      this.dropTopicPartitions.run(topic);
      this.dropTopicOffsets.run(topic);
    })();
  }
}
