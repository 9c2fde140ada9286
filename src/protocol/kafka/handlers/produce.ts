import type { BrokerContext } from '../../../context.js';
import { LogError, LogErrorCode, type AppendResult } from '../../../log/types.js';
import type { KafkaApiHandler } from '../handler.js';
import type { ProduceRequest, ProduceResponseInput, ProduceResponseTopicProduceResponseInput } from '../generated/index.js';
import { resolveTopic } from './metadata.js';
import { countRecords, type KafkaTraffic } from '../traffic.js';

const UNKNOWN_SERVER_ERROR = -1;
/** Produce v0–2 carry message format v0/v1, which this broker does not store (Kafka 4 rejects them too). */
const FIRST_SERVED_VERSION = 3;
const TRANSIENT = { transient: true } as const;

/** One partition's answer, filled in when its append settles. */
interface PartitionSlot {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

/**
 * Produce 0–7. Versions 0–2 are advertised only because librdkafka enables compression when the range
 * reaches v0; they are answered with UNSUPPORTED_VERSION per partition. Every partition of a request is
 * handed to the log in the same event-loop turn, so the log commits them with one write (and one fsync).
 * Record bytes go to the log as they arrived; the log validates and stores them verbatim.
 */
/**
 * Checks a partition's records before they are appended; 0 accepts them, else the partition's error
 * code. The transaction coordinator rejects transactional batches outside their producer's transaction.
 */
export type ProduceGuard = (topic: string, partition: number, records: Buffer) => number;

export function createProduceHandler(ctx: BrokerContext, traffic?: KafkaTraffic, guard?: ProduceGuard): KafkaApiHandler<ProduceRequest, ProduceResponseInput> {
  const codeOf = (err: unknown, topic: string, index: number): number => {
    if (err instanceof LogError) return err.code;
    ctx.logger.error('append failed', { topic, partition: index, err });
    return UNKNOWN_SERVER_ERROR;
  };

  return {
    apiKey: 0,
    minVersion: 0,
    maxVersion: 7,
    handle(req, rc) {
      const acks = req.acks;
      // A loaned frame is reused after this request: the log must copy what it keeps of it.
      const appendOpts = rc.frameLoaned ? TRANSIENT : undefined;
      let requestError = 0;
      if (rc.apiVersion < FIRST_SERVED_VERSION) requestError = LogErrorCode.UNSUPPORTED_VERSION;
      else if (acks !== 0 && acks !== 1 && acks !== -1) requestError = LogErrorCode.INVALID_REQUIRED_ACKS;

      const responses: ProduceResponseTopicProduceResponseInput[] = [];
      let pending: Promise<void>[] | null = null;
      for (const topic of req.topicData) {
        const slots: PartitionSlot[] = [];
        responses.push({ name: topic.name, partitionResponses: slots });
        let topicError = requestError;
        if (topicError === 0) {
          const t = resolveTopic(ctx, topic.name, true);
          if (typeof t === 'number') topicError = t;
        }
        const counters = traffic && topicError === 0 ? traffic.topic(topic.name) : undefined;
        for (const pd of topic.partitionData) {
          const slot: PartitionSlot = { index: pd.index, errorCode: topicError, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
          slots.push(slot);
          if (topicError !== 0) continue;
          const partition = ctx.log.partition(topic.name, pd.index);
          if (!partition) {
            slot.errorCode = LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            continue;
          }
          if (pd.records === null || pd.records.length === 0) {
            slot.errorCode = LogErrorCode.CORRUPT_MESSAGE;
            continue;
          }
          if (guard) {
            const refused = guard(topic.name, pd.index, pd.records);
            if (refused !== 0) {
              slot.errorCode = refused;
              continue;
            }
          }
          // Counted now: a loaned frame's bytes may be reused once the append settles.
          const bytes = pd.records.length;
          const records = counters ? countRecords(pd.records) : 0;
          const appended = partition.append(pd.records, appendOpts).then(
            (res: AppendResult) => {
              if (counters) {
                const c = traffic!.slot(counters, pd.index);
                c.bytesIn += bytes;
                c.recordsIn += records;
              }
              slot.baseOffset = res.baseOffset;
              slot.logAppendTimeMs = res.logAppendTime;
              slot.logStartOffset = res.logStartOffset;
            },
            (err: unknown) => {
              slot.errorCode = codeOf(err, topic.name, pd.index);
            },
          );
          (pending ??= []).push(appended);
        }
      }

      const response: ProduceResponseInput = { responses, throttleTimeMs: 0 };
      // acks=0: the client expects no answer at all; the appends still run (and log their own failures).
      // With a loaned frame the (empty) answer waits for them, since the frame is reused once it settles.
      if (acks === 0) return pending !== null && rc.frameLoaned ? Promise.all(pending).then(() => null) : null;
      if (pending === null) return response;
      return Promise.all(pending).then(() => response);
    },
  };
}
