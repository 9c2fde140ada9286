import type { KafkaApiHandler } from '../../handler.js';
import type {
  OffsetCommitRequest,
  OffsetCommitResponseInput,
  OffsetDeleteRequest,
  OffsetDeleteResponseInput,
  OffsetFetchRequest,
  OffsetFetchResponseInput,
} from '../../generated/index.js';
import type { Coordinator, TopicPartition } from '../coordinator.js';

/** Regroups per-partition results by topic, keeping the order topics first appear in. */
export function byTopic<T extends TopicPartition, R>(items: readonly T[], toPartition: (item: T) => R): Array<{ name: string; partitions: R[] }> {
  const topics = new Map<string, R[]>();
  for (const item of items) {
    let parts = topics.get(item.topic);
    if (!parts) topics.set(item.topic, (parts = []));
    parts.push(toPartition(item));
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}

/** OffsetCommit 2–7 (v2–4 carry a retention time, which offsets here do not expire by). */
export function createOffsetCommitHandler(c: Coordinator): KafkaApiHandler<OffsetCommitRequest, OffsetCommitResponseInput> {
  return {
    apiKey: 8,
    minVersion: 2,
    maxVersion: 7,
    handle(req) {
      const results = c.commitOffsets({
        groupId: req.groupId,
        generationId: req.generationIdOrMemberEpoch,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        entries: req.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.committedMetadata,
          })),
        ),
      });
      return { topics: byTopic(results, (r) => ({ partitionIndex: r.partition, errorCode: r.errorCode })) };
    },
  };
}

/** OffsetFetch 1–5; from v2 a null topic list asks for everything the group committed. */
export function createOffsetFetchHandler(c: Coordinator): KafkaApiHandler<OffsetFetchRequest, OffsetFetchResponseInput> {
  return {
    apiKey: 9,
    minVersion: 1,
    maxVersion: 5,
    handle(req) {
      const wanted = req.topics === null ? null : req.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
      const { errorCode, offsets } = c.fetchOffsets(req.groupId, wanted);
      return {
        errorCode,
        topics: byTopic(offsets, (o) => ({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedLeaderEpoch: o.leaderEpoch,
          metadata: o.metadata,
          errorCode: o.errorCode,
        })),
      };
    },
  };
}

/** OffsetDelete 0. */
export function createOffsetDeleteHandler(c: Coordinator): KafkaApiHandler<OffsetDeleteRequest, OffsetDeleteResponseInput> {
  return {
    apiKey: 47,
    minVersion: 0,
    maxVersion: 0,
    handle(req) {
      const wanted = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
      const { errorCode, results } = c.deleteOffsets(req.groupId, wanted);
      return { errorCode, topics: byTopic(results, (r) => ({ partitionIndex: r.partition, errorCode: r.errorCode })) };
    },
  };
}
