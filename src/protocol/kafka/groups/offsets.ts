import type { CommittedOffset, GroupStore } from './store.js';

type TopicOffsets = Map<number, CommittedOffset>;

/** Committed offsets: written through to SQLite, read from memory (OffsetFetch is on every consumer start). */
export class OffsetBook {
  private readonly byGroup = new Map<string, Map<string, TopicOffsets>>();

  constructor(private readonly store: GroupStore) {
    for (const row of store.loadOffsets()) this.put(row.groupId, row);
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.byGroup.get(groupId)?.get(topic)?.get(partition);
  }

  /** Every committed offset of a group, ordered by topic then partition. */
  all(groupId: string): CommittedOffset[] {
    const topics = this.byGroup.get(groupId);
    if (!topics) return [];
    const out: CommittedOffset[] = [];
    for (const name of [...topics.keys()].sort()) {
      const parts = topics.get(name)!;
      for (const p of [...parts.keys()].sort((a, b) => a - b)) out.push(parts.get(p)!);
    }
    return out;
  }

  hasAny(groupId: string): boolean {
    return (this.byGroup.get(groupId)?.size ?? 0) > 0;
  }

  /** Persists first so a failed write leaves the cache equal to the database. */
  commit(groupId: string, protocolType: string, generationId: number, entries: readonly CommittedOffset[]): void {
    this.store.commit(groupId, protocolType, generationId, entries);
    for (const e of entries) this.put(groupId, e);
  }

  delete(groupId: string, entries: ReadonlyArray<{ topic: string; partition: number }>): void {
    this.store.deleteOffsets(groupId, entries);
    const topics = this.byGroup.get(groupId);
    if (!topics) return;
    for (const { topic, partition } of entries) {
      const parts = topics.get(topic);
      if (!parts) continue;
      parts.delete(partition);
      if (parts.size === 0) topics.delete(topic);
    }
    if (topics.size === 0) this.byGroup.delete(groupId);
  }

  /** Every group's offsets of a topic, in the database and in memory. */
  deleteTopic(topic: string): void {
    this.store.deleteTopicOffsets(topic);
    for (const [groupId, topics] of this.byGroup) {
      topics.delete(topic);
      if (topics.size === 0) this.byGroup.delete(groupId);
    }
  }

  /** Forgets the group's offsets in memory; the store removes the rows with the group itself. */
  forgetGroup(groupId: string): void {
    this.byGroup.delete(groupId);
  }

  private put(groupId: string, e: CommittedOffset): void {
    let topics = this.byGroup.get(groupId);
    if (!topics) this.byGroup.set(groupId, (topics = new Map()));
    let parts = topics.get(e.topic);
    if (!parts) topics.set(e.topic, (parts = new Map()));
    parts.set(e.partition, {
      topic: e.topic,
      partition: e.partition,
      offset: e.offset,
      leaderEpoch: e.leaderEpoch,
      metadata: e.metadata,
      commitTimestamp: e.commitTimestamp,
    });
  }
}
