import { createRequire } from 'node:module';
import type { Codec } from './codec.js';

type SnappyModule = typeof import('@napi-rs/snappy');
const require = createRequire(import.meta.url);
let snappyModule: SnappyModule | undefined;
// Loaded on first use, like lz4: brokers that never decode a snappy batch do not pay for the module.
const native = (): SnappyModule => (snappyModule ??= require('@napi-rs/snappy') as SnappyModule);
const compressSync = (data: Buffer): Buffer => native().compressSync(data);
const uncompressSync = (data: Buffer): Buffer => native().uncompressSync(data) as Buffer;

/**
 * Java clients (snappy-java) write and expect xerial framing: an 8-byte magic, version and minimum
 * compatible version (int32 each), then [int32 length][raw snappy block] repeated. librdkafka and some
 * Node clients send raw snappy, so decoding accepts both.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
/** snappy-java's default block size. */
const BLOCK = 32 * 1024;

export function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER && data.subarray(0, 8).equals(XERIAL_MAGIC);
}

export function encodeXerial(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(XERIAL_HEADER);
  XERIAL_MAGIC.copy(head, 0);
  head.writeInt32BE(1, 8);
  head.writeInt32BE(1, 12);
  parts.push(head);
  for (let off = 0; off < data.length; off += BLOCK) {
    const block = compressSync(data.subarray(off, Math.min(off + BLOCK, data.length)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

export function decodeXerial(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new RangeError('truncated xerial snappy block length');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length) throw new RangeError('truncated xerial snappy block');
    parts.push(uncompressSync(data.subarray(pos, pos + len)));
    pos += len;
  }
  return Buffer.concat(parts);
}

export const snappy: Codec = {
  compress: (data) => encodeXerial(data),
  decompress: (data) => (isXerial(data) ? decodeXerial(data) : uncompressSync(data)),
};

/** Raw (unframed) snappy, as librdkafka writes it. */
export const snappyRaw: Codec = {
  compress: (data) => compressSync(data),
  decompress: (data) => uncompressSync(data),
};
