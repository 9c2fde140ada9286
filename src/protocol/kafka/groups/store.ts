import { migrate, type Db } from '../../../store/sqlite.js';
import type { Statement } from 'better-sqlite3';

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface StoredGroup {
  groupId: string;
  protocolType: string;
  generationId: number;
}

const MIGRATIONS = [
  `CREATE TABLE kafka_groups (
     group_id TEXT PRIMARY KEY,
     protocol_type TEXT NOT NULL,
     generation_id INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE group_offsets (
     group_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     partition INTEGER NOT NULL,
     "offset" INTEGER NOT NULL,
     leader_epoch INTEGER NOT NULL,
     metadata TEXT NOT NULL,
     commit_ts INTEGER NOT NULL,
     PRIMARY KEY (group_id, topic, partition)
   ) WITHOUT ROWID;`,
];

interface OffsetRow {
  group_id: string;
  topic: string;
  partition: number;
  offset: number;
  leader_epoch: number;
  metadata: string;
  commit_ts: number;
}

/** The SQLite side of groups: which groups exist (so Empty groups survive restarts) and their offsets. */
export class GroupStore {
  private readonly upsertGroup: Statement<[string, string, number, number]>;
  private readonly deleteGroupRow: Statement<[string]>;
  private readonly deleteGroupOffsets: Statement<[string]>;
  private readonly upsertOffset: Statement<[string, string, number, number, number, string, number]>;
  private readonly deleteOffset: Statement<[string, string, number]>;
  private readonly deleteTopicRows: Statement<[string]>;
  private readonly commitTx: (groupId: string, protocolType: string, generationId: number, entries: readonly CommittedOffset[]) => void;
  private readonly deleteOffsetsTx: (groupId: string, entries: ReadonlyArray<{ topic: string; partition: number }>) => void;
  private readonly deleteGroupTx: (groupId: string) => void;

  constructor(private readonly db: Db) {
    migrate(db, 'kafka-groups', MIGRATIONS);
    this.upsertGroup = db.prepare(
      `INSERT INTO kafka_groups (group_id, protocol_type, generation_id, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (group_id) DO UPDATE SET protocol_type = excluded.protocol_type,
         generation_id = excluded.generation_id, updated_at = excluded.updated_at`,
    );
    this.deleteGroupRow = db.prepare('DELETE FROM kafka_groups WHERE group_id = ?');
    this.deleteGroupOffsets = db.prepare('DELETE FROM group_offsets WHERE group_id = ?');
    this.upsertOffset = db.prepare(
      `INSERT INTO group_offsets (group_id, topic, partition, "offset", leader_epoch, metadata, commit_ts) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET "offset" = excluded."offset",
         leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_ts = excluded.commit_ts`,
    );
    this.deleteOffset = db.prepare('DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?');
    this.deleteTopicRows = db.prepare('DELETE FROM group_offsets WHERE topic = ?');
    this.commitTx = db.transaction((groupId, protocolType, generationId, entries) => {
      this.upsertGroup.run(groupId, protocolType, generationId, Date.now());
      for (const e of entries) {
        this.upsertOffset.run(groupId, e.topic, e.partition, e.offset, e.leaderEpoch, e.metadata, e.commitTimestamp);
      }
    });
    this.deleteOffsetsTx = db.transaction((groupId, entries) => {
      for (const e of entries) this.deleteOffset.run(groupId, e.topic, e.partition);
    });
    this.deleteGroupTx = db.transaction((groupId) => {
      this.deleteGroupOffsets.run(groupId);
      this.deleteGroupRow.run(groupId);
    });
  }

  loadGroups(): StoredGroup[] {
    const rows = this.db.prepare('SELECT group_id, protocol_type, generation_id FROM kafka_groups').all() as Array<{
      group_id: string;
      protocol_type: string;
      generation_id: number;
    }>;
    return rows.map((r) => ({ groupId: r.group_id, protocolType: r.protocol_type, generationId: r.generation_id }));
  }

  loadOffsets(): Array<CommittedOffset & { groupId: string }> {
    const rows = this.db
      .prepare('SELECT group_id, topic, partition, "offset", leader_epoch, metadata, commit_ts FROM group_offsets')
      .all() as OffsetRow[];
    return rows.map((r) => ({
      groupId: r.group_id,
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      leaderEpoch: r.leader_epoch,
      metadata: r.metadata,
      commitTimestamp: r.commit_ts,
    }));
  }

  saveGroup(groupId: string, protocolType: string, generationId: number): void {
    this.upsertGroup.run(groupId, protocolType, generationId, Date.now());
  }

  /** Records the group and all of one request's offsets in one transaction. */
  commit(groupId: string, protocolType: string, generationId: number, entries: readonly CommittedOffset[]): void {
    this.commitTx(groupId, protocolType, generationId, entries);
  }

  deleteOffsets(groupId: string, entries: ReadonlyArray<{ topic: string; partition: number }>): void {
    this.deleteOffsetsTx(groupId, entries);
  }

  deleteTopicOffsets(topic: string): void {
    this.deleteTopicRows.run(topic);
  }

  deleteGroup(groupId: string): void {
    this.deleteGroupTx(groupId);
  }
}
