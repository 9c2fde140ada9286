import type { LogStore, TopicInfo } from '../log/types.js';
import { LogError, LogErrorCode } from '../log/types.js';
import { HttpError, badRequest, conflict, notFound } from './errors.js';

export interface PartitionView {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
}

export interface TopicView {
  name: string;
  id: string;
  partitions: PartitionView[];
  /** Records between log start and end, summed over partitions. */
  records: number;
  sizeBytes: number;
  createdAt: number;
  /** Overrides of the broker defaults. */
  configs: Record<string, string>;
}

export function partitionViews(log: LogStore, info: TopicInfo): PartitionView[] {
  const out: PartitionView[] = [];
  for (let i = 0; i < info.partitions; i++) {
    const p = log.partition(info.name, i);
    // A topic being deleted concurrently can lose partitions between the two calls.
    if (!p) continue;
    out.push({ partition: i, logStartOffset: p.logStartOffset, logEndOffset: p.logEndOffset, sizeBytes: p.sizeBytes() });
  }
  return out;
}

export function topicView(log: LogStore, info: TopicInfo): TopicView {
  const partitions = partitionViews(log, info);
  let records = 0;
  let sizeBytes = 0;
  for (const p of partitions) {
    records += p.logEndOffset - p.logStartOffset;
    sizeBytes += p.sizeBytes;
  }
  return { name: info.name, id: info.id, partitions, records, sizeBytes, createdAt: info.createdAt, configs: info.configs };
}

export function requireTopic(log: LogStore, name: string): TopicInfo {
  const info = log.topic(name);
  if (!info) throw notFound(`topic ${JSON.stringify(name)} does not exist`);
  return info;
}

/** Maps the log's Kafka error codes to HTTP answers; `fields` names the request field behind each code. */
export function fromLogError(err: unknown, fields: { name?: string; partitions?: string; configs?: string } = {}): unknown {
  if (!(err instanceof LogError)) return err;
  switch (err.code) {
    case LogErrorCode.TOPIC_ALREADY_EXISTS:
      return conflict(err.message);
    case LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return notFound(err.message);
    case LogErrorCode.INVALID_TOPIC_EXCEPTION:
      return badRequest(fields.name ?? 'name', err.message);
    case LogErrorCode.INVALID_PARTITIONS:
      return badRequest(fields.partitions ?? 'partitions', err.message);
    case LogErrorCode.INVALID_CONFIG:
      return badRequest(fields.configs ?? 'configs', err.message);
    case LogErrorCode.OFFSET_OUT_OF_RANGE:
      return badRequest('offset', err.message);
    case LogErrorCode.CORRUPT_MESSAGE:
    case LogErrorCode.MESSAGE_TOO_LARGE:
    case LogErrorCode.RECORD_LIST_TOO_LARGE:
    case LogErrorCode.INVALID_RECORD:
    case LogErrorCode.INVALID_TIMESTAMP:
      return badRequest('records', err.message);
    default:
      return new HttpError(500, 'log_error', err.message);
  }
}
