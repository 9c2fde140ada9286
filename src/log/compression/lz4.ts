import { createRequire } from 'node:module';
import type { Codec } from './codec.js';

type Lz4Module = typeof import('lz4-napi');
const require = createRequire(import.meta.url);
let lz4Module: Lz4Module | undefined;
// Loaded on first use: the produce and fetch paths never (de)compress, and the native module costs
// megabytes of resident memory in every broker that never sees an lz4 batch decoded.
const native = (): Lz4Module => (lz4Module ??= require('lz4-napi') as Lz4Module);

/** Kafka v2 batches use the standard LZ4 frame format (the magic-0 header checksum quirk is gone). */
export const lz4: Codec = {
  compress: (data) => native().compressFrameSync(data),
  decompress: (data) => native().decompressFrameSync(data),
};
