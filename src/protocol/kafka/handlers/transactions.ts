import type { KafkaApiHandler } from '../handler.js';
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponseInput,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponseInput,
  EndTxnRequest,
  EndTxnResponseInput,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponseInput,
} from '../generated/index.js';
import { byTopic } from '../groups/handlers/offsets.js';
import type { TransactionCoordinator } from '../txn/coordinator.js';
import { fencedCode } from '../txn/errors.js';

/** AddPartitionsToTxn, AddOffsetsToTxn and EndTxn answer PRODUCER_FENCED from v2 (KIP-588). */
const FENCED_FROM_VERSION = 2;

/**
 * AddPartitionsToTxn 0–1 (the client versions; v4+ is the broker-to-broker verification batch form,
 * which a single broker never receives).
 */
export function createAddPartitionsToTxnHandler(txn: TransactionCoordinator): KafkaApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponseInput> {
  return {
    apiKey: 24,
    minVersion: 0,
    maxVersion: 1,
    handle(req, rc) {
      const wanted = req.v3AndBelowTopics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
      const results = txn.addPartitions(
        req.v3AndBelowTransactionalId,
        req.v3AndBelowProducerId,
        req.v3AndBelowProducerEpoch,
        fencedCode(rc.apiVersion, FENCED_FROM_VERSION),
        wanted,
      );
      return {
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: byTopic(results, (r) => ({ partitionIndex: r.partition, partitionErrorCode: r.errorCode })).map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions,
        })),
      };
    },
  };
}

/** AddOffsetsToTxn 0–1. */
export function createAddOffsetsToTxnHandler(txn: TransactionCoordinator): KafkaApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponseInput> {
  return {
    apiKey: 25,
    minVersion: 0,
    maxVersion: 1,
    handle(req, rc) {
      const errorCode = txn.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, fencedCode(rc.apiVersion, FENCED_FROM_VERSION), req.groupId);
      return { throttleTimeMs: 0, errorCode };
    },
  };
}

/** EndTxn 0–1. */
export function createEndTxnHandler(txn: TransactionCoordinator): KafkaApiHandler<EndTxnRequest, EndTxnResponseInput> {
  return {
    apiKey: 26,
    minVersion: 0,
    maxVersion: 1,
    async handle(req, rc) {
      const errorCode = await txn.endTxn(req.transactionalId, req.producerId, req.producerEpoch, fencedCode(rc.apiVersion, FENCED_FROM_VERSION), req.committed);
      return { throttleTimeMs: 0, errorCode };
    },
  };
}

/**
 * TxnOffsetCommit 0–3. v3 (flexible; what librdkafka sends) adds the consumer's generation, member id
 * and instance id (KIP-447), checked against the group as OffsetCommit checks them.
 */
export function createTxnOffsetCommitHandler(txn: TransactionCoordinator): KafkaApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponseInput> {
  return {
    apiKey: 28,
    minVersion: 0,
    maxVersion: 3,
    handle(req) {
      const entries = req.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata ?? '',
        })),
      );
      // Below v3 the decoder leaves these at their defaults (-1, '', null): no member to check.
      const member = { generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId };
      const results = txn.commitOffsets(req.transactionalId, req.groupId, req.producerId, req.producerEpoch, member, entries);
      return {
        throttleTimeMs: 0,
        topics: byTopic(results, (r) => ({ partitionIndex: r.partition, errorCode: r.errorCode })),
      };
    },
  };
}
