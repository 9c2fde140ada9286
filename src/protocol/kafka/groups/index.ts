import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import { Coordinator, type GroupDescription, type GroupListing, type OffsetCommitEntry } from './coordinator.js';
import { createDeleteGroupsHandler, createDescribeGroupsHandler, createListGroupsHandler } from './handlers/admin.js';
import { createFindCoordinatorHandler } from './handlers/find-coordinator.js';
import { createHeartbeatHandler, createJoinGroupHandler, createLeaveGroupHandler, createSyncGroupHandler } from './handlers/membership.js';
import { createOffsetCommitHandler, createOffsetDeleteHandler, createOffsetFetchHandler } from './handlers/offsets.js';
import type { CommittedOffset } from './store.js';

export type { GroupDescription, GroupListing, MemberDescription, OffsetCommitEntry } from './coordinator.js';
export type { GroupState } from './group.js';
export type { CommittedOffset } from './store.js';
export { GroupNotEmptyError } from './errors.js';

/** How often Empty groups without offsets are forgotten (Kafka's `offsets.retention.check.interval.ms`). */
const IDLE_GROUP_SWEEP_MS = 10 * 60 * 1000;

/** Kafka's group coordinator (classic protocol) for this single broker, plus read views for admin tools. */
export interface GroupCoordinator {
  /** FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups, OffsetDelete. */
  handlers: KafkaApiHandler[];
  listGroups(): GroupListing[];
  describeGroup(groupId: string): GroupDescription | undefined;
  committedOffsets(groupId: string): CommittedOffset[];
  /** Throws GroupNotEmptyError unless the group is Empty (or unknown), as Kafka's reset tools require. */
  resetOffsets(groupId: string, entries: readonly OffsetCommitEntry[]): void;
  /** Applies a committed transaction's offsets (the transaction coordinator calls it at EndTxn). */
  commitTransactionalOffsets(groupId: string, entries: ReadonlyArray<OffsetCommitEntry & { metadata: string }>): void;
  /** TxnOffsetCommit v3+: checks the committing consumer's generation and member id (0 = allowed). */
  checkTransactionalCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number;
  /** Drops every group's committed offsets of a topic; DeleteTopics calls it once the topic is gone. */
  forgetTopic(topic: string): void;
  /** Stops every timer and answers parked JoinGroup/SyncGroup requests with COORDINATOR_NOT_AVAILABLE. */
  close(): Promise<void>;
}

export function createGroupCoordinator(ctx: BrokerContext): GroupCoordinator {
  const logger = ctx.logger.child('groups');
  const c = new Coordinator({
    db: ctx.db,
    logger,
    initialRebalanceDelayMs: ctx.options.kafka.initialRebalanceDelayMs,
  });
  const sweep = setInterval(() => {
    try {
      c.removeIdleGroups();
    } catch (err) {
      logger.warn('idle group sweep failed', { err });
    }
  }, IDLE_GROUP_SWEEP_MS);
  sweep.unref();
  const stop = () => {
    clearInterval(sweep);
    c.close();
  };
  const onClosing = () => stop();
  ctx.closing.addEventListener('abort', onClosing, { once: true });
  return {
    handlers: [
      createFindCoordinatorHandler(ctx),
      createJoinGroupHandler(c),
      createSyncGroupHandler(c),
      createHeartbeatHandler(c),
      createLeaveGroupHandler(c),
      createOffsetCommitHandler(c),
      createOffsetFetchHandler(c),
      createDescribeGroupsHandler(c),
      createListGroupsHandler(c),
      createDeleteGroupsHandler(c),
      createOffsetDeleteHandler(c),
    ],
    listGroups: () => c.listGroups(),
    describeGroup: (id) => c.describeGroup(id),
    committedOffsets: (id) => c.committedOffsets(id),
    resetOffsets: (id, entries) => c.resetOffsets(id, entries),
    commitTransactionalOffsets: (id, entries) => c.commitTransactionalOffsets(id, entries),
    checkTransactionalCommit: (id, generationId, memberId, instanceId) => c.checkTransactionalCommit(id, generationId, memberId, instanceId),
    forgetTopic: (topic) => c.forgetTopic(topic),
    close: async () => {
      ctx.closing.removeEventListener('abort', onClosing);
      stop();
    },
  };
}
