/**
 * Encoding and decoding of Kafka v2 record batches with their records: for tests, for the doors that
 * produce into the log themselves (AMQP, schedules) and for reading records back. The log's append
 * path never goes through here: it stores the producer's bytes verbatim.
 */
import { crc32c } from './crc32c.js';
import {
  ATTR_CODEC_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  F,
  LOG_OVERHEAD,
  readInt64,
  writeInt64,
} from './batch-format.js';
import { codecById, CompressionCodec, type CompressionName } from './compression/index.js';
import { VarintReader, writeZigzag, zigzagSize } from './varint.js';

export type Bytes = Buffer | string | null;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Bytes;
  value?: Bytes;
  headers?: readonly { key: string; value: Bytes }[];
  /** Milliseconds since the epoch; defaults to the batch's base timestamp (now). */
  timestamp?: number;
  /**
   * Offset relative to the batch's base offset; defaults to the record's index. Compaction keeps the
   * original offsets of the records it keeps, leaving gaps.
   */
  offsetDelta?: number;
}

export interface EncodeBatchOptions {
  baseOffset?: number;
  records: readonly RecordInput[];
  compression?: CompressionName;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /** Control batch (transaction marker); use `encodeControlBatch` to build one. */
  control?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: 'CreateTime' | 'LogAppendTime';
  /**
   * Defaults to the last record's offset delta. Compaction keeps the original value so that producer
   * sequence numbers stay consistent with the offsets the batch spans.
   */
  lastOffsetDelta?: number;
  /** LogAppendTime batches carry the append time here; defaults to the largest record timestamp. */
  maxTimestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  /** Size of the whole batch on the wire, header included. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  isTransactional: boolean;
  isControl: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  records: DecodedRecord[];
}

function toBuf(b: Bytes | undefined): Buffer | null {
  if (b === null || b === undefined) return null;
  return typeof b === 'string' ? Buffer.from(b) : b;
}

interface PreparedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: Buffer; value: Buffer | null }[];
  tsDelta: number;
  offsetDelta: number;
  bodySize: number;
}

function bytesFieldSize(b: Buffer | null): number {
  return b === null ? 1 : zigzagSize(b.length) + b.length;
}

function writeBytesField(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeZigzag(buf, pos, -1);
  pos = writeZigzag(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

/** Encodes the records section (uncompressed) of a batch. */
function encodeRecords(records: readonly RecordInput[], baseTimestamp: number): Buffer {
  const prepared: PreparedRecord[] = [];
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const key = toBuf(r.key);
    const value = toBuf(r.value);
    const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key), value: toBuf(h.value) }));
    const tsDelta = (r.timestamp ?? baseTimestamp) - baseTimestamp;
    const offsetDelta = r.offsetDelta ?? i;
    let bodySize = 1 + zigzagSize(tsDelta) + zigzagSize(offsetDelta) + bytesFieldSize(key) + bytesFieldSize(value) + zigzagSize(headers.length);
    for (const h of headers) bodySize += bytesFieldSize(h.key) + bytesFieldSize(h.value);
    prepared.push({ key, value, headers, tsDelta, offsetDelta, bodySize });
    total += zigzagSize(bodySize) + bodySize;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i]!;
    pos = writeZigzag(out, pos, p.bodySize);
    out[pos++] = 0; // record attributes: unused in v2
    pos = writeZigzag(out, pos, p.tsDelta);
    pos = writeZigzag(out, pos, p.offsetDelta);
    pos = writeBytesField(out, pos, p.key);
    pos = writeBytesField(out, pos, p.value);
    pos = writeZigzag(out, pos, p.headers.length);
    for (const h of p.headers) {
      pos = writeBytesField(out, pos, h.key);
      pos = writeBytesField(out, pos, h.value);
    }
  }
  return out;
}

/** Builds one v2 record batch with a valid CRC32C. */
export function encodeRecordBatch(opts: EncodeBatchOptions): Buffer {
  const records = opts.records;
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const now = Date.now();
  // Java clients use the first record's timestamp as base; deltas may be negative, which varints allow.
  const baseTimestamp = records[0]!.timestamp ?? now;
  let maxTimestamp = -Infinity;
  for (const r of records) maxTimestamp = Math.max(maxTimestamp, r.timestamp ?? now);
  if (opts.maxTimestamp !== undefined) maxTimestamp = opts.maxTimestamp;
  const codecId = CompressionCodec[opts.compression ?? 'none'];
  let body = encodeRecords(records, baseTimestamp);
  const codec = codecById(codecId);
  if (codec) body = codec.compress(body);

  let attributes = codecId;
  if (opts.timestampType === 'LogAppendTime') attributes |= ATTR_LOG_APPEND_TIME;
  if (opts.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (opts.control) attributes |= ATTR_CONTROL;

  const buf = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  writeInt64(buf, F.baseOffset, opts.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, F.batchLength);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, F.partitionLeaderEpoch);
  buf.writeInt8(2, F.magic);
  buf.writeInt16BE(attributes, F.attributes);
  buf.writeInt32BE(opts.lastOffsetDelta ?? records[records.length - 1]!.offsetDelta ?? records.length - 1, F.lastOffsetDelta);
  writeInt64(buf, F.baseTimestamp, baseTimestamp);
  writeInt64(buf, F.maxTimestamp, maxTimestamp);
  writeInt64(buf, F.producerId, opts.producerId ?? -1);
  buf.writeInt16BE(opts.producerEpoch ?? -1, F.producerEpoch);
  buf.writeInt32BE(opts.baseSequence ?? -1, F.baseSequence);
  buf.writeInt32BE(records.length, F.recordsCount);
  body.copy(buf, BATCH_HEADER_SIZE);
  writeBatchCrc(buf, 0);
  return buf;
}

/** Recomputes the CRC32C of the batch at `pos` (it covers attributes through the end). */
export function writeBatchCrc(buf: Buffer, pos: number): void {
  const end = pos + buf.readInt32BE(pos + F.batchLength) + LOG_OVERHEAD;
  buf.writeUInt32BE(crc32c(buf.subarray(pos + F.attributes, end)), pos + F.crc);
}

export interface ControlBatchOptions {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch?: number;
  baseOffset?: number;
  timestamp?: number;
}

/** A transaction marker: one control record, key = (version 0, type 0 abort / 1 commit). */
export function encodeControlBatch(opts: ControlBatchOptions): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(opts.commit ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(opts.coordinatorEpoch ?? 0, 2);
  return encodeRecordBatch({
    baseOffset: opts.baseOffset,
    records: [{ key, value, timestamp: opts.timestamp }],
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    transactional: true,
    control: true,
  });
}

function decodeRecords(body: Buffer, count: number, baseOffset: number, baseTimestamp: number, logAppendTime: number | null): DecodedRecord[] {
  const r = new VarintReader(body);
  const out: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.zigzag();
    const end = r.pos + len;
    if (len < 0 || end > body.length) throw new RangeError('record length runs past the end of the batch');
    const rec = new VarintReader(body, r.pos, end);
    rec.pos++; // attributes
    const tsDelta = rec.zigzag();
    const offsetDelta = rec.zigzag();
    const keyLen = rec.zigzag();
    const key = keyLen < 0 ? null : rec.bytes(keyLen);
    const valueLen = rec.zigzag();
    const value = valueLen < 0 ? null : rec.bytes(valueLen);
    const nHeaders = rec.zigzag();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < nHeaders; h++) {
      const hk = rec.zigzag();
      const hkey = rec.bytes(hk).toString('utf8');
      const hv = rec.zigzag();
      headers.push({ key: hkey, value: hv < 0 ? null : rec.bytes(hv) });
    }
    out.push({ offset: baseOffset + offsetDelta, timestamp: logAppendTime ?? baseTimestamp + tsDelta, key, value, headers });
    r.pos = end;
  }
  return out;
}

export interface DecodeOptions {
  /** Throw on a batch whose CRC32C does not match (default false). */
  verifyCrc?: boolean;
}

/**
 * Decodes every whole v2 batch in `buf` (decompressing as needed). A partial batch at the end is
 * ignored, as Kafka consumers do with fetch responses cut at maxBytes.
 */
export function decodeRecordBatches(buf: Buffer, opts: DecodeOptions = {}): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos + BATCH_HEADER_SIZE <= buf.length) {
    const size = buf.readInt32BE(pos + F.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) throw new RangeError(`batch at ${pos} has an impossible length ${size}`);
    if (pos + size > buf.length) break;
    const magic = buf.readInt8(pos + F.magic);
    if (magic !== 2) throw new RangeError(`batch at ${pos} has magic ${magic}; only v2 batches are supported`);
    const crc = buf.readUInt32BE(pos + F.crc);
    if (opts.verifyCrc && crc32c(buf.subarray(pos + F.attributes, pos + size)) !== crc) {
      throw new RangeError(`batch at ${pos} fails its CRC check`);
    }
    const attributes = buf.readInt16BE(pos + F.attributes);
    const compression = attributes & ATTR_CODEC_MASK;
    const baseOffset = readInt64(buf, pos + F.baseOffset);
    const baseTimestamp = readInt64(buf, pos + F.baseTimestamp);
    const maxTimestamp = readInt64(buf, pos + F.maxTimestamp);
    const recordsCount = buf.readInt32BE(pos + F.recordsCount);
    const isLogAppend = (attributes & ATTR_LOG_APPEND_TIME) !== 0;
    let body = buf.subarray(pos + BATCH_HEADER_SIZE, pos + size);
    const codec = codecById(compression);
    if (codec) body = codec.decompress(body);
    out.push({
      baseOffset,
      lastOffset: baseOffset + buf.readInt32BE(pos + F.lastOffsetDelta),
      sizeInBytes: size,
      partitionLeaderEpoch: buf.readInt32BE(pos + F.partitionLeaderEpoch),
      magic,
      crc,
      attributes,
      compression,
      timestampType: isLogAppend ? 'LogAppendTime' : 'CreateTime',
      isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
      isControl: (attributes & ATTR_CONTROL) !== 0,
      baseTimestamp,
      maxTimestamp,
      producerId: readInt64(buf, pos + F.producerId),
      producerEpoch: buf.readInt16BE(pos + F.producerEpoch),
      baseSequence: buf.readInt32BE(pos + F.baseSequence),
      recordsCount,
      records: decodeRecords(body, recordsCount, baseOffset, baseTimestamp, isLogAppend ? maxTimestamp : null),
    });
    pos += size;
  }
  return out;
}

/** For control batches: true = commit marker, false = abort marker, null = not a control record. */
export function controlRecordType(record: DecodedRecord): 'commit' | 'abort' | null {
  if (!record.key || record.key.length < 4) return null;
  const type = record.key.readInt16BE(2);
  return type === 1 ? 'commit' : type === 0 ? 'abort' : null;
}
