import { CompressionCodec, type Codec, type CompressionName } from './codec.js';
import { gzip } from './gzip.js';
import { lz4 } from './lz4.js';
import { snappy, snappyRaw, encodeXerial, decodeXerial, isXerial } from './snappy.js';
import { zstd, initZstd } from './zstd.js';

export { CompressionCodec, type Codec, type CompressionName, gzip, lz4, snappy, snappyRaw, zstd, encodeXerial, decodeXerial, isXerial };

/** Loads now the codecs that otherwise load on first use (zstd's WebAssembly). Idempotent. */
export function initCodecs(): Promise<void> {
  return initZstd();
}

const BY_ID: readonly (Codec | null)[] = [null, gzip, snappy, lz4, zstd];

/** The codec for an attributes codec id; null for 0 (none); throws for ids Kafka does not define. */
export function codecById(id: number): Codec | null {
  if (!Number.isInteger(id) || id < 0 || id >= BY_ID.length) throw new RangeError(`unknown compression codec id ${id}`);
  return BY_ID[id]!;
}

export function codecId(name: CompressionName): number {
  return CompressionCodec[name];
}
