import { createRequire } from 'node:module';

type Lz4Module = typeof import('lz4-napi');
const require = createRequire(import.meta.url);
let lz4Module: Lz4Module | undefined;
// Loaded with the first text long enough to pack: a store that never writes one (and the Kafka or
// AMQP broker that never opens a job store) does not pay its resident memory.
const lz4 = (): Lz4Module => (lz4Module ??= require('lz4-napi') as Lz4Module);

/**
 * Text longer than this is stored lz4-compressed, as a BLOB; shorter text stays TEXT. Used for a
 * batch's events (~6 KB when 50 workers finish and claim together, ~600 bytes packed; ~1 KB when
 * 10 workers retry together, ~200 packed), which in a WITHOUT ROWID table would spill into
 * overflow pages past ~488 bytes a row keeps in its leaf with 2 KB pages (~1000 with 4 KB; the
 * row's key takes some of it): each one more page for the commit to write and the checkpoint to
 * copy, and freed again when the row is trimmed. Not used for stack traces (~730 -> ~340 bytes in the retry scenario): the retry
 * scenario ran ~4 % slower with them packed (compressing on every failure, unpacking on every
 * hand-out, and the stack trace read as a column of its own, as a JSON array cannot hold a BLOB).
 */
export const PACK_OVER = 400;

/** `text` as stored: a BLOB of its lz4 compression when longer than {@link PACK_OVER}. */
export function packText(text: string): string | Buffer {
  return text.length > PACK_OVER ? lz4().compressSync(Buffer.from(text)) : text;
}

/** What {@link packText} stored (values written before packing existed are all TEXT). */
export function unpackText(stored: string | Buffer): string {
  return typeof stored === 'string' ? stored : lz4().uncompressSync(stored).toString();
}
