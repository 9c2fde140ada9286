import { gunzipSync, gzipSync } from 'node:zlib';
import type { Codec } from './codec.js';

export const gzip: Codec = {
  compress: (data) => gzipSync(data),
  decompress: (data) => gunzipSync(data),
};
