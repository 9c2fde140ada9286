/** Codec ids as they appear in attributes bits 0-2 of a v2 record batch. */
export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof CompressionCodec;

export interface Codec {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}
