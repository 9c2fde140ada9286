/**
 * Validation of the batches of an append, without decoding records: sizes, magic, CRC32C, counts.
 * Returns what the partition needs of each batch to assign offsets and track producers.
 */
import { crc32c } from './crc32c.js';
import { ATTR_CODEC_MASK, ATTR_CONTROL, ATTR_TRANSACTIONAL, BATCH_HEADER_SIZE, F, LOG_OVERHEAD, readInt64 } from './batch-format.js';
import type { ProducerBatch } from './producer-state.js';
import { LogError, LogErrorCode } from './types.js';
import { VarintReader } from './varint.js';

export interface IncomingBatch extends ProducerBatch {
  /** Position of the batch in the appended buffer. */
  at: number;
  size: number;
  maxTimestamp: number;
  /** Timestamp of the first record. */
  baseTimestamp: number;
}

/** Smallest possible record: length, attributes, timestamp delta, offset delta, key, value, header count. */
const MIN_RECORD = 7;

function controlType(buf: Buffer, at: number, end: number): 'commit' | 'abort' {
  try {
    const r = new VarintReader(buf, at + BATCH_HEADER_SIZE, end);
    r.zigzag(); // record length
    r.pos++; // attributes
    r.zigzag(); // timestamp delta
    r.zigzag(); // offset delta
    const keyLen = r.zigzag();
    const key = r.bytes(keyLen);
    if (key.length < 4) throw new RangeError('short key');
    const type = key.readInt16BE(2);
    if (type === 1) return 'commit';
    if (type === 0) return 'abort';
  } catch {
    // fall through to the error below
  }
  throw new LogError(LogErrorCode.INVALID_RECORD, 'control batch without a valid commit/abort marker');
}

export function validateBatches(buf: Buffer, maxMessageBytes: number): IncomingBatch[] {
  const out: IncomingBatch[] = [];
  let at = 0;
  if (buf.length === 0) throw new LogError(LogErrorCode.CORRUPT_MESSAGE, 'no record batch in the append');
  while (at < buf.length) {
    if (buf.length - at < BATCH_HEADER_SIZE) throw new LogError(LogErrorCode.CORRUPT_MESSAGE, `truncated batch header at byte ${at}`);
    const size = buf.readInt32BE(at + F.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || at + size > buf.length) {
      throw new LogError(LogErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} declares ${size} bytes, ${buf.length - at} present`);
    }
    const magic = buf.readInt8(at + F.magic);
    if (magic !== 2) {
      throw new LogError(
        magic === 0 || magic === 1 ? LogErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT : LogErrorCode.CORRUPT_MESSAGE,
        `record batch magic ${magic} is not supported (only v2)`,
      );
    }
    if (size > maxMessageBytes) {
      throw new LogError(LogErrorCode.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`);
    }
    const end = at + size;
    if (crc32c(buf.subarray(at + F.attributes, end)) !== buf.readUInt32BE(at + F.crc)) {
      throw new LogError(LogErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} fails its CRC32C check`);
    }
    const attributes = buf.readInt16BE(at + F.attributes);
    const codec = attributes & ATTR_CODEC_MASK;
    if (codec > 4) throw new LogError(LogErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${codec}`);
    const count = buf.readInt32BE(at + F.recordsCount);
    const lastOffsetDelta = buf.readInt32BE(at + F.lastOffsetDelta);
    if (count <= 0 || lastOffsetDelta !== count - 1) {
      throw new LogError(LogErrorCode.INVALID_RECORD, `batch at byte ${at}: ${count} records with last offset delta ${lastOffsetDelta}`);
    }
    if (codec === 0 && count * MIN_RECORD > size - BATCH_HEADER_SIZE) {
      throw new LogError(LogErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} claims ${count} records in ${size - BATCH_HEADER_SIZE} bytes`);
    }
    const isControl = (attributes & ATTR_CONTROL) !== 0;
    out.push({
      at,
      size,
      maxTimestamp: readInt64(buf, at + F.maxTimestamp),
      baseTimestamp: readInt64(buf, at + F.baseTimestamp),
      producerId: readInt64(buf, at + F.producerId),
      producerEpoch: buf.readInt16BE(at + F.producerEpoch),
      baseSequence: buf.readInt32BE(at + F.baseSequence),
      lastOffsetDelta,
      transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
      control: isControl ? controlType(buf, at, end) : null,
    });
    at = end;
  }
  return out;
}
