import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import type { Codec } from './codec.js';

/** Kafka v2 batches use the standard LZ4 frame format (the magic-0 header checksum quirk is gone). */
export const lz4: Codec = {
  compress: (data) => compressFrameSync(data),
  decompress: (data) => decompressFrameSync(data),
};
