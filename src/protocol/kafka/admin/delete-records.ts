import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import type { DeleteRecordsRequest, DeleteRecordsResponseInput } from '../generated/index.js';
import { AdminErrorCode as E, toAdminError } from './errors.js';

/** DeleteRecords 0–1: moves each partition's log start offset; -1 means the high watermark. */
export function createDeleteRecordsHandler(ctx: BrokerContext): KafkaApiHandler<DeleteRecordsRequest, DeleteRecordsResponseInput> {
  return {
    apiKey: 21,
    minVersion: 0,
    maxVersion: 1,
    handle(req) {
      const topics = req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const log = ctx.log.partition(t.name, p.partitionIndex);
          if (!log) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: E.UNKNOWN_TOPIC_OR_PARTITION };
          const offset = Number(p.offset);
          if (offset !== -1 && (offset < 0 || offset > log.logEndOffset)) {
            return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: E.OFFSET_OUT_OF_RANGE };
          }
          try {
            return { partitionIndex: p.partitionIndex, lowWatermark: log.deleteRecordsBefore(offset), errorCode: 0 };
          } catch (err) {
            return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: toAdminError(err, ctx.logger, 'DeleteRecords').errorCode };
          }
        }),
      }));
      return { throttleTimeMs: 0, topics };
    },
  };
}
