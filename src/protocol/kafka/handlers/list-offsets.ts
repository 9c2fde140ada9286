import type { BrokerContext } from '../../../context.js';
import { LogError, LogErrorCode, type PartitionLog } from '../../../log/types.js';
import type { KafkaApiHandler } from '../handler.js';
import type {
  ListOffsetsRequest,
  ListOffsetsRequestListOffsetsPartition,
  ListOffsetsResponseInput,
  ListOffsetsResponseListOffsetsPartitionResponseInput,
  ListOffsetsResponseListOffsetsTopicResponseInput,
} from '../generated/index.js';

const UNKNOWN_SERVER_ERROR = -1;
/** Special timestamps of the request. */
const LATEST = -1;
const EARLIEST = -2;

/** ListOffsets 1–3: latest (-1), earliest (-2) or the first offset at or after a timestamp. */
export function createListOffsetsHandler(ctx: BrokerContext): KafkaApiHandler<ListOffsetsRequest, ListOffsetsResponseInput> {
  const lookup = (p: PartitionLog, q: ListOffsetsRequestListOffsetsPartition, readCommitted: boolean): ListOffsetsResponseListOffsetsPartitionResponseInput => {
    const base = { partitionIndex: q.partitionIndex, errorCode: 0 };
    if (q.timestamp === LATEST) {
      // a read_committed consumer may not see past the last stable offset, so it must not start beyond it
      return { ...base, timestamp: -1, offset: readCommitted ? p.lastStableOffset : p.logEndOffset };
    }
    if (q.timestamp === EARLIEST) return { ...base, timestamp: -1, offset: p.logStartOffset };
    if (q.timestamp < 0) return { ...base, errorCode: LogErrorCode.INVALID_REQUEST, timestamp: -1, offset: -1 };
    const hit = p.offsetForTimestamp(q.timestamp);
    if (hit === null) return { ...base, timestamp: -1, offset: -1 };
    if (readCommitted && hit.offset >= p.lastStableOffset) return { ...base, timestamp: -1, offset: -1 };
    return { ...base, timestamp: hit.timestamp, offset: hit.offset };
  };

  return {
    apiKey: 2,
    minVersion: 1,
    maxVersion: 3,
    handle(req, rc) {
      // isolation level exists from v2; v1 clients read uncommitted
      const readCommitted = rc.apiVersion >= 2 && req.isolationLevel === 1;
      const topics: ListOffsetsResponseListOffsetsTopicResponseInput[] = [];
      for (const topic of req.topics) {
        const partitions: ListOffsetsResponseListOffsetsPartitionResponseInput[] = [];
        topics.push({ name: topic.name, partitions });
        for (const q of topic.partitions) {
          const p = ctx.log.partition(topic.name, q.partitionIndex);
          if (!p) {
            partitions.push({ partitionIndex: q.partitionIndex, errorCode: LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1, offset: -1 });
            continue;
          }
          try {
            partitions.push(lookup(p, q, readCommitted));
          } catch (err) {
            let code = UNKNOWN_SERVER_ERROR;
            if (err instanceof LogError) code = err.code;
            else ctx.logger.error('offset lookup failed', { topic: topic.name, partition: q.partitionIndex, err });
            partitions.push({ partitionIndex: q.partitionIndex, errorCode: code, timestamp: -1, offset: -1 });
          }
        }
      }
      return { throttleTimeMs: 0, topics };
    },
  };
}
