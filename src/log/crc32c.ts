import { createRequire } from 'node:module';

type Crc32c = (input: Uint8Array, initialState?: number) => number;

/**
 * CRC-32C of record batches, from @node-rs/crc32, loaded on the first batch written or checked: an
 * idle broker (empty data dir, no producer yet) never needs it, and importing that CJS package from
 * ESM cost ~6 MB of resident memory at startup (the native module plus the CJS-to-ESM translation).
 * The first call replaces the binding with the native function, so callers (which see the live
 * export) pay for the indirection once.
 */
export let crc32c: Crc32c = (input, initialState) => {
  crc32c = (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c;
  return crc32c(input, initialState);
};
