import type { BrokerContext } from '../../../context.js';
import { LogError, LogErrorCode, type IsolationLevel, type PartitionLog } from '../../../log/types.js';
import type { KafkaApiHandler } from '../handler.js';
import type { ReadBuffers } from '../../../log/slab.js';
import { countRecords, type KafkaTraffic } from '../traffic.js';
import type {
  FetchRequest,
  FetchRequestFetchPartition,
  FetchResponseFetchableTopicResponseInput,
  FetchResponseInput,
  FetchResponsePartitionDataInput,
} from '../generated/index.js';

const UNKNOWN_SERVER_ERROR = -1;
const FETCH_SESSION_ID_NOT_FOUND = 70;
const NO_RECORDS: readonly Buffer[] = [];
const NO_ABORTED: readonly { producerId: number; firstOffset: number }[] = [];

/** One pass over the requested partitions: what a response sent now would hold. */
interface Collected {
  response: FetchResponseInput;
  bytes: number;
  /** Kafka answers at once when any partition has an error rather than waiting for data. */
  hasError: boolean;
}

interface Target {
  /** Position of the topic in the request: the response lists topics the way they were asked. */
  group: number;
  topic: string;
  req: FetchRequestFetchPartition;
  partition: PartitionLog | undefined;
}

/**
 * Fetch 4–11, sessionless (every client here sends session id 0; a broker may always decline sessions).
 * Record bytes are handed to the encoder as the log's chunks, never copied or re-encoded. Long polls wait for
 * an append on any requested partition, the request's maxWaitMs, or broker shutdown.
 */
export function createFetchHandler(ctx: BrokerContext, traffic?: KafkaTraffic): KafkaApiHandler<FetchRequest, FetchResponseInput> {
  /** Counts what a response actually sends (a long poll may collect several times before answering). */
  const sent = (res: FetchResponseInput): FetchResponseInput => {
    if (!traffic) return res;
    for (const t of res.responses ?? []) {
      let counters: ReturnType<KafkaTraffic['topic']> | undefined;
      for (const p of t.partitions ?? []) {
        const records = p.records;
        if (!records || records.length === 0) continue;
        counters ??= traffic.topic(t.topic ?? '');
        const c = traffic.slot(counters, p.partitionIndex ?? 0);
        if (Buffer.isBuffer(records)) {
          c.bytesOut += records.length;
          c.recordsOut += countRecords(records);
          continue;
        }
        for (let i = 0; i < records.length; i++) {
          const chunk = records[i]!;
          c.bytesOut += chunk.length;
          c.recordsOut += countRecords(chunk);
        }
      }
    }
    return res;
  };

  const errorCode = (err: unknown, t: Target): number => {
    if (err instanceof LogError) return err.code;
    ctx.logger.error('fetch read failed', { topic: t.topic, partition: t.req.partition, err });
    return UNKNOWN_SERVER_ERROR;
  };

  const collect = (targets: readonly Target[], req: FetchRequest, isolation: IsolationLevel, buffers: ReadBuffers | undefined): Collected => {
    const responses: FetchResponseFetchableTopicResponseInput[] = [];
    let current: FetchResponsePartitionDataInput[] = [];
    let lastGroup = -1;
    let bytes = 0;
    let hasError = false;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (t.group !== lastGroup) {
        current = [];
        responses.push({ topic: t.topic, partitions: current });
        lastGroup = t.group;
      }
      const p = t.partition;
      if (!p) {
        hasError = true;
        current.push({ partitionIndex: t.req.partition, errorCode: LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: NO_ABORTED, records: NO_RECORDS });
        continue;
      }
      const remaining = req.maxBytes - bytes;
      // Until some partition has returned data, the first batch is returned even when it exceeds the limits,
      // so a consumer can always make progress; after that the limits are hard.
      const mustFit = bytes > 0;
      if (mustFit && remaining <= 0) {
        current.push(emptyPartition(t, p));
        continue;
      }
      const limit = mustFit ? Math.min(t.req.partitionMaxBytes, remaining) : t.req.partitionMaxBytes;
      try {
        const res = p.read(t.req.fetchOffset, limit, isolation, buffers);
        if (mustFit && res.bytes > limit) {
          current.push({ partitionIndex: t.req.partition, highWatermark: res.highWatermark, lastStableOffset: res.lastStableOffset, logStartOffset: res.logStartOffset, abortedTransactions: NO_ABORTED, records: NO_RECORDS });
          continue;
        }
        bytes += res.bytes;
        current.push({
          partitionIndex: t.req.partition,
          highWatermark: res.highWatermark,
          lastStableOffset: res.lastStableOffset,
          logStartOffset: res.logStartOffset,
          abortedTransactions: res.abortedTransactions.length === 0 ? NO_ABORTED : res.abortedTransactions,
          records: res.chunks,
        });
      } catch (err) {
        hasError = true;
        current.push({ ...emptyPartition(t, p), errorCode: errorCode(err, t) });
      }
    }
    return { response: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses }, bytes, hasError };
  };

  return {
    apiKey: 1,
    minVersion: 4,
    maxVersion: 11,
    handle(req, rc) {
      if (req.sessionId !== 0) return { errorCode: FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
      const isolation: IsolationLevel = req.isolationLevel === 1 ? 'read_committed' : 'read_uncommitted';
      const targets: Target[] = [];
      for (let g = 0; g < req.topics.length; g++) {
        const topic = req.topics[g]!;
        for (const part of topic.partitions) {
          targets.push({ group: g, topic: topic.topic, req: part, partition: ctx.log.partition(topic.topic, part.partition) });
        }
      }
      const first = collect(targets, req, isolation, rc.readBuffers);
      const satisfied = (c: Collected) => c.hasError || c.bytes >= req.minBytes;
      if (satisfied(first) || req.maxWaitMs <= 0 || targets.length === 0 || ctx.closing.aborted || rc.conn.closed?.aborted) {
        return sent(first.response);
      }

      const partitions = [...new Set(targets.map((t) => t.partition!))];
      return new Promise<FetchResponseInput>((resolve) => {
        let cancels: (() => void)[] = [];
        let settled = false;
        const disarm = () => {
          for (const cancel of cancels) cancel();
          cancels = [];
        };
        const settle = (c: Collected) => {
          if (settled) return;
          settled = true;
          disarm();
          clearTimeout(timer);
          ctx.closing.removeEventListener('abort', onClose);
          rc.conn.closed?.removeEventListener('abort', onClose);
          resolve(sent(c.response));
        };
        const onClose = () => settle(collect(targets, req, isolation, rc.readBuffers));
        const onAppend = () => {
          if (settled) return;
          // registrations are one-shot: drop the others' too, then re-arm if still not enough
          disarm();
          const c = collect(targets, req, isolation, rc.readBuffers);
          if (satisfied(c)) settle(c);
          else arm();
        };
        const arm = () => {
          for (const p of partitions) cancels.push(p.onAppend(onAppend));
        };
        const timer = setTimeout(onClose, req.maxWaitMs);
        // a poll parked for a connection that is gone must not keep a stopped broker's process alive
        timer.unref();
        ctx.closing.addEventListener('abort', onClose, { once: true });
        rc.conn.closed?.addEventListener('abort', onClose, { once: true });
        arm();
      });
    },
  };
}

function emptyPartition(t: Target, p: PartitionLog): FetchResponsePartitionDataInput {
  return {
    partitionIndex: t.req.partition,
    highWatermark: p.logEndOffset,
    lastStableOffset: p.lastStableOffset,
    logStartOffset: p.logStartOffset,
    abortedTransactions: NO_ABORTED,
    records: NO_RECORDS,
  };
}
