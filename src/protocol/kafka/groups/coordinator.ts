import { InvalidArgumentError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { Db } from '../../../store/sqlite.js';
import { ErrorCode, GroupNotEmptyError } from './errors.js';
import { EMPTY_BYTES, Group, type GroupState } from './group.js';
import { Membership } from './membership.js';
import { OffsetBook } from './offsets.js';
import { GroupStore, type CommittedOffset } from './store.js';

/** Kafka's `offset.metadata.max.bytes` default. */
const MAX_METADATA_LENGTH = 4096;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface OffsetCommitEntry {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch?: number;
  metadata?: string | null;
}

export interface CommitParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  entries: readonly OffsetCommitEntry[];
}

export interface PartitionError extends TopicPartition {
  errorCode: number;
}

export interface FetchedOffset extends TopicPartition {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: GroupState;
  members: number;
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The member's metadata for the group's protocol; empty unless the group is Stable (as Kafka reports it). */
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  protocolType: string;
  /** The selected protocol while Stable, "" otherwise. */
  protocol: string;
  generationId: number;
  leaderId: string | null;
  members: MemberDescription[];
}

export interface CoordinatorOptions {
  db: Db;
  logger: Logger;
  initialRebalanceDelayMs: number;
}

/** Groups and their committed offsets: what every group API and the admin views work on. */
export class Coordinator {
  readonly membership: Membership;
  private readonly groups = new Map<string, Group>();
  private readonly store: GroupStore;
  private readonly offsets: OffsetBook;
  private closed = false;
  private readonly logger: Logger;

  constructor(opts: CoordinatorOptions) {
    this.logger = opts.logger;
    this.store = new GroupStore(opts.db);
    for (const g of this.store.loadGroups()) {
      const group = new Group(g.groupId, g.protocolType === '' ? null : g.protocolType);
      group.generationId = g.generationId;
      this.groups.set(g.groupId, group);
    }
    this.offsets = new OffsetBook(this.store);
    this.membership = new Membership(this.groups, {
      initialRebalanceDelayMs: opts.initialRebalanceDelayMs,
      logger: opts.logger,
      onGeneration: (group) => {
        // Often runs from a timer: a failed write must not take the broker down, and the group lives on in memory.
        try {
          this.store.saveGroup(group.groupId, group.protocolType ?? '', group.generationId);
        } catch (err) {
          opts.logger.warn('could not record group generation', { group: group.groupId, err });
        }
      },
    });
  }

  close(): void {
    this.closed = true;
    this.membership.close();
  }

  /**
   * Members of a group commit within their generation; a client without group management (admin
   * setOffsets, kcat, manual assignment) commits with generation -1 and no member id, which only an
   * Empty group accepts.
   */
  commitOffsets(p: CommitParams): PartitionError[] {
    const fail = (errorCode: number) => p.entries.map((e) => ({ topic: e.topic, partition: e.partition, errorCode }));
    if (p.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let group = this.groups.get(p.groupId);
    if (!group) {
      if (p.generationId >= 0) return fail(ErrorCode.ILLEGAL_GENERATION);
      group = new Group(p.groupId, null);
      this.groups.set(p.groupId, group);
    } else {
      const error = this.validateCommit(group, p);
      if (error !== ErrorCode.NONE) return fail(error);
    }
    const now = Date.now();
    const accepted: CommittedOffset[] = [];
    const results = p.entries.map((e) => {
      const metadata = e.metadata ?? '';
      if (metadata.length > MAX_METADATA_LENGTH) {
        return { topic: e.topic, partition: e.partition, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE };
      }
      accepted.push({ topic: e.topic, partition: e.partition, offset: e.offset, leaderEpoch: e.leaderEpoch ?? -1, metadata, commitTimestamp: now });
      return { topic: e.topic, partition: e.partition, errorCode: ErrorCode.NONE };
    });
    try {
      this.offsets.commit(group.groupId, group.protocolType ?? '', group.generationId, accepted);
    } catch (err) {
      // e.g. the database stayed locked by another process past the busy timeout: a retriable error
      // tells the client to try again instead of losing its connection.
      this.logger.warn('offset commit failed', { group: group.groupId, err });
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    return results;
  }

  /**
   * Offsets of a committed transaction (TxnOffsetCommit, applied at EndTxn): the transaction coordinator
   * checked the producer when they were sent, so no generation check here. Throws if SQLite refuses, so
   * the caller's own SQLite transaction rolls back with it.
   */
  commitTransactionalOffsets(groupId: string, entries: ReadonlyArray<Omit<OffsetCommitEntry, 'metadata'> & { metadata: string }>): void {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new Group(groupId, null);
      this.groups.set(groupId, group);
    }
    const now = Date.now();
    this.offsets.commit(
      groupId,
      group.protocolType ?? '',
      group.generationId,
      entries.map((e) => ({ topic: e.topic, partition: e.partition, offset: e.offset, leaderEpoch: e.leaderEpoch ?? -1, metadata: e.metadata, commitTimestamp: now })),
    );
  }

  /**
   * TxnOffsetCommit v3+ (KIP-447): a consumer that names its generation or member id is checked as
   * OffsetCommit checks it, so a zombie from an older generation cannot commit through a transaction.
   * Without them (v0–2, or a producer outside any group) anyone may commit, as in Kafka.
   */
  checkTransactionalCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    const asMember = generationId >= 0 || memberId !== '' || groupInstanceId !== null;
    const group = this.groups.get(groupId);
    if (!group) return asMember ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.NONE;
    if (!asMember) return group.state === 'Dead' ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NONE;
    return this.validateCommit(group, { groupId, generationId, memberId, groupInstanceId, entries: [] });
  }

  /** `partitions` null means every committed offset of the group. Unknown partitions read as -1. */
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[] | null): { errorCode: number; offsets: FetchedOffset[] } {
    if (groupId === '') {
      return {
        errorCode: ErrorCode.INVALID_GROUP_ID,
        offsets: (partitions ?? []).map((tp) => ({ ...tp, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.INVALID_GROUP_ID })),
      };
    }
    if (partitions === null) {
      return {
        errorCode: ErrorCode.NONE,
        offsets: this.offsets.all(groupId).map((c) => ({
          topic: c.topic,
          partition: c.partition,
          offset: c.offset,
          leaderEpoch: c.leaderEpoch,
          metadata: c.metadata,
          errorCode: ErrorCode.NONE,
        })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      offsets: partitions.map((tp) => {
        const c = this.offsets.get(groupId, tp.topic, tp.partition);
        return c
          ? { ...tp, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: ErrorCode.NONE }
          : { ...tp, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
      }),
    };
  }

  /** Kafka's OffsetDelete: only offsets of topics the group's members are not consuming. */
  deleteOffsets(groupId: string, partitions: readonly TopicPartition[]): { errorCode: number; results: PartitionError[] } {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, results: [] };
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, results: [] };
    let subscribed: Set<string> | null = new Set();
    if (group.state !== 'Empty') {
      if (group.protocolType !== 'consumer') return { errorCode: ErrorCode.NON_EMPTY_GROUP, results: [] };
      subscribed = group.subscribedTopics();
    }
    const results = partitions.map((tp) => ({
      ...tp,
      errorCode: subscribed === null || subscribed.has(tp.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE,
    }));
    this.offsets.delete(groupId, results.filter((r) => r.errorCode === ErrorCode.NONE));
    return { errorCode: ErrorCode.NONE, results };
  }

  deleteGroups(groupIds: readonly string[]): Array<{ groupId: string; errorCode: number }> {
    return groupIds.map((groupId) => ({ groupId, errorCode: this.deleteGroup(groupId) }));
  }

  listGroups(): GroupListing[] {
    return [...this.groups.values()]
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state, members: g.members.size }))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  describeGroup(groupId: string): GroupDescription | undefined {
    const g = this.groups.get(groupId);
    if (!g) return undefined;
    const stable = g.state === 'Stable';
    const protocol = stable ? (g.protocolName ?? '') : '';
    return {
      groupId: g.groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocol,
      generationId: g.generationId,
      leaderId: g.leaderId,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        metadata: stable ? m.metadataFor(protocol) : EMPTY_BYTES,
        assignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  committedOffsets(groupId: string): CommittedOffset[] {
    return this.offsets.all(groupId);
  }

  /** Admin offset reset; like Kafka's tools it refuses while the group has active members. */
  resetOffsets(groupId: string, entries: readonly OffsetCommitEntry[]): void {
    if (typeof groupId !== 'string' || groupId === '') throw new InvalidArgumentError('groupId', groupId, 'a non-empty string');
    for (const e of entries) {
      if (!Number.isSafeInteger(e.offset) || e.offset < -1) throw new InvalidArgumentError('entries.offset', e.offset, 'an integer >= -1');
      if (!Number.isInteger(e.partition) || e.partition < 0) throw new InvalidArgumentError('entries.partition', e.partition, 'an integer >= 0');
    }
    const group = this.groups.get(groupId);
    if (group && group.state !== 'Empty' && group.state !== 'Dead') throw new GroupNotEmptyError(groupId, group.state);
    const errors = this.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, entries });
    const bad = errors.find((r) => r.errorCode !== ErrorCode.NONE);
    if (bad) throw new InvalidArgumentError('entries.metadata', `${bad.topic}/${bad.partition}`, `at most ${MAX_METADATA_LENGTH} characters`);
  }

  private validateCommit(group: Group, p: CommitParams): number {
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.generationId >= 0 || p.memberId !== '' || p.groupInstanceId !== null) {
      const member = this.membership.checkMember(group, p.memberId, p.groupInstanceId, p.generationId);
      if (typeof member === 'number') return member;
      // Assignments of the new generation are not out yet; the old one's were revoked.
      if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
      member.lastSeen = Date.now();
      return ErrorCode.NONE;
    }
    return group.state === 'Empty' ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * A deleted topic's committed offsets go with it (as in Kafka), so a topic created again under the
   * same name is not read from stale positions.
   */
  forgetTopic(topic: string): void {
    this.offsets.deleteTopic(topic);
  }

  /**
   * Forgets Empty groups that have no committed offsets and nobody on the way in, as Kafka's periodic
   * cleanup does, so short-lived groups (tests, console consumers) do not pile up. Returns their ids.
   */
  removeIdleGroups(): string[] {
    const idle = [...this.groups.values()].filter(
      (g) => g.state === 'Empty' && g.pendingMembers.size === 0 && !this.offsets.hasAny(g.groupId),
    );
    for (const g of idle) this.removeGroup(g);
    return idle.map((g) => g.groupId);
  }

  private deleteGroup(groupId: string): number {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (!group || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== 'Empty') return ErrorCode.NON_EMPTY_GROUP;
    this.removeGroup(group);
    return ErrorCode.NONE;
  }

  private removeGroup(group: Group): void {
    this.store.deleteGroup(group.groupId);
    for (const timer of group.pendingMembers.values()) clearTimeout(timer);
    group.pendingMembers.clear();
    group.state = 'Dead';
    this.groups.delete(group.groupId);
    this.offsets.forgetGroup(group.groupId);
  }
}
