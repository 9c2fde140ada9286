/**
 * The contract of the log engine. `src/log/` knows nothing of protocols: the Kafka door, the AMQP door
 * and the broker's schedules all use it through these types. Offsets and timestamps are JS numbers
 * (exact up to 2^53, far beyond any offset or millisecond timestamp this broker will see).
 */
import type { ReadBuffers } from './slab.js';
import type { Db } from '../store/sqlite.js';
import type { Logger } from '../logger.js';
import type { FsyncPolicy } from '../config.js';

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** Kafka error codes the log raises; the Kafka door puts them on the wire as they are. */
export const LogErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_REQUIRED_ACKS: 21,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  UNKNOWN_PRODUCER_ID: 59,
  KAFKA_STORAGE_ERROR: 56,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
} as const;

export class LogError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'LogError';
    this.code = code;
  }
}

export interface TopicInfo {
  name: string;
  /** UUID, 16 bytes as 32 lowercase hex digits. */
  id: string;
  partitions: number;
  /** Only the configs set on this topic (overrides of the broker defaults). */
  configs: Record<string, string>;
  createdAt: number;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  sensitive: boolean;
  /** Kafka ConfigSource: 1 = dynamic topic config, 4 = static broker config, 5 = default. */
  source: number;
}

export interface AppendResult {
  /** Offset given to the first record of the first batch. */
  baseOffset: number;
  lastOffset: number;
  /** -1 unless the topic uses `message.timestamp.type=LogAppendTime`. */
  logAppendTime: number;
  logStartOffset: number;
  /** An idempotent producer's retry of a batch already stored: acknowledged, nothing appended. */
  duplicate: boolean;
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface ReadResult {
  /** Whole record batches exactly as stored, starting with the batch that holds the asked offset. */
  chunks: Buffer[];
  bytes: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: AbortedTransaction[];
}

export interface AppendOptions {
  /** The caller reuses the buffer after the append settles (see `append`). */
  transient?: boolean;
}

export interface PartitionLog {
  readonly topic: string;
  readonly index: number;
  readonly logStartOffset: number;
  /**
   * End of the acknowledged log, which with one replica is also the high watermark: every offset below
   * it has been acknowledged to its producer and is readable. Appends still waiting for their group
   * commit (write, and fsync under `always`) are not counted yet.
   */
  readonly logEndOffset: number;
  readonly lastStableOffset: number;
  sizeBytes(): number;
  /**
   * Validates (sizes, magic 2, CRC32C), assigns offsets by patching batch headers, and resolves once the
   * bytes have reached the OS (and disk under fsync `always`). `batches` may hold several v2 batches.
   * Rejects with LogError (CORRUPT_MESSAGE, OUT_OF_ORDER_SEQUENCE_NUMBER, ...) and stores nothing then.
   * The caller's buffer is never modified, but the log may keep referencing it (to write it, and to serve
   * tail reads from memory): do not modify `batches` after calling append, unless `transient` is set:
   * then the log keeps no reference to `batches` once the returned promise settles, and the caller may
   * reuse the buffer from then on.
   */
  append(batches: Buffer, opts?: AppendOptions): Promise<AppendResult>;
  /**
   * Reads whole batches from `offset` up to about `maxBytes` (always at least one batch if any exists).
   * Throws LogError OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   * Bytes read from files go into `buffers` when given (the log keeps no reference to them, so the
   * caller may recycle them once it is done with the result), else into memory of the log's own.
   */
  read(offset: number, maxBytes: number, isolation?: IsolationLevel, buffers?: ReadBuffers): ReadResult;
  /** First offset whose timestamp is >= ts, or null when none is. */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null;
  /** Moves the log start offset (DeleteRecords); -1 means the end. Returns the new log start offset. */
  deleteRecordsBefore(offset: number): number;
  /** Calls `cb` once, on the next append; returns a function that cancels it. For long polls. */
  onAppend(cb: () => void): () => void;
}

export interface CreateTopicOptions {
  partitions: number;
  configs?: Record<string, string>;
  validateOnly?: boolean;
}

export interface LogStore {
  topics(): TopicInfo[];
  topic(name: string): TopicInfo | undefined;
  /** Throws LogError INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG. */
  createTopic(name: string, opts: CreateTopicOptions): TopicInfo;
  deleteTopic(name: string): Promise<void>;
  createPartitions(name: string, totalCount: number, validateOnly?: boolean): TopicInfo;
  /** `incremental`: null deletes a key; `replace`: the given set replaces all overrides. */
  alterTopicConfigs(name: string, configs: Record<string, string | null>, mode: 'replace' | 'incremental', validateOnly?: boolean): TopicInfo;
  /** Every config of the topic with its effective value, as DescribeConfigs shows them. */
  describeConfigs(name: string): ConfigEntry[];
  partition(topic: string, index: number): PartitionLog | undefined;
  /** Flushes pending writes, fsyncs, closes files. */
  close(): Promise<void>;
}

export interface LogStoreOptions {
  dataDir: string;
  db: Db;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Broker-wide overrides of the topic config defaults (Kafka names). */
  topicDefaults: Record<string, string>;
  logger: Logger;
  /** How often retention runs (Kafka `log.retention.check.interval.ms`, default 300000). */
  retentionCheckIntervalMs?: number;
  /** Bytes of recent appends each partition keeps in memory for tail reads (default 1 MiB; 0 disables). */
  tailCacheBytes?: number;
}
