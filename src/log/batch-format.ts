/**
 * Byte layout of a Kafka v2 record batch header (facts of the wire format) and the few accessors the
 * log needs on the hot path without decoding records.
 */

/** baseOffset(8) + batchLength(4): the part not counted by batchLength. */
export const LOG_OVERHEAD = 12;
export const BATCH_HEADER_SIZE = 61;

export const F = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const ATTR_CODEC_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

const TWO_32 = 4294967296;

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * TWO_32, pos + 4);
}

/** Total size of the batch starting at `pos` (header included), from its batchLength field. */
export function batchSizeAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + F.batchLength) + LOG_OVERHEAD;
}

export function lastOffsetOf(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + F.baseOffset) + buf.readInt32BE(pos + F.lastOffsetDelta);
}
