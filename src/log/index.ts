/**
 * The log engine. On disk, per partition (`<dataDir>/kafka/<topic>-<n>/` or a standalone directory):
 * `<base offset, 20 digits>.log` (Kafka v2 record batches as produced), `.index` (sparse: relative
 * offset → file position, uint32 pairs), `.timeindex` (int64 max timestamp → relative offset),
 * `log-start-offset`, and `<offset>.snapshot` (producer state: idempotence, open and aborted
 * transactions). Topics, ids and config overrides live in SQLite (table `log_topics`).
 */
export * from './types.js';
export { openLogStore, validateTopicName, type RailyardLogStore } from './store.js';
export { openPartitionLog, type PartitionLogOptions, type StandalonePartitionLog } from './standalone.js';
export type { PartitionStats } from './partition.js';
export {
  encodeRecordBatch,
  encodeControlBatch,
  decodeRecordBatches,
  controlRecordType,
  writeBatchCrc,
  type EncodeBatchOptions,
  type ControlBatchOptions,
  type RecordInput,
  type DecodedBatch,
  type DecodedRecord,
  type RecordHeader,
  type DecodeOptions,
  type Bytes,
} from './record-batch.js';
export { initCodecs, codecById, codecId, CompressionCodec, type CompressionName, type Codec } from './compression/index.js';
export { gzip, snappy, snappyRaw, lz4, zstd, encodeXerial, decodeXerial, isXerial } from './compression/index.js';
export { TOPIC_CONFIG_NAMES, validateTopicConfigs } from './topic-config.js';
export { BATCH_HEADER_SIZE, LOG_OVERHEAD } from './batch-format.js';
