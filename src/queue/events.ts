import { createRequire } from 'node:module';

type Lz4Module = typeof import('lz4-napi');
const require = createRequire(import.meta.url);
let lz4Module: Lz4Module | undefined;
// Loaded with the first event row big enough to compress: a store that never writes one (and
// the Kafka or AMQP broker that never opens a job store) does not pay its resident memory.
const lz4 = (): Lz4Module => (lz4Module ??= require('lz4-napi') as Lz4Module);

/**
 * Event rows whose JSON is longer than this are stored lz4-compressed (a BLOB; shorter ones stay
 * JSON text). A batch of 50 workers finishing and claiming writes ~6 KB of events, which in a
 * WITHOUT ROWID table (~1000 bytes kept in the leaf) spills into overflow pages, each one more
 * page for the commit to write and the checkpoint to copy, and freed again when the row is
 * trimmed; compressed it is ~600 bytes and stays in its leaf.
 */
const COMPRESS_OVER = 768;

/** A batch's events as stored in `jobs_event.events` (see {@link COMPRESS_OVER}). */
export function encodeEvents(events: readonly string[][]): string | Buffer {
  const json = JSON.stringify(events);
  return json.length > COMPRESS_OVER ? lz4().compressSync(Buffer.from(json)) : json;
}

/** What {@link encodeEvents} stored (rows of earlier versions are all JSON text). */
export function decodeEvents(stored: string | Buffer): string[][] {
  return JSON.parse(typeof stored === 'string' ? stored : lz4().uncompressSync(stored).toString()) as string[][];
}

/**
 * Events one operation emits, stored together in one `jobs_event` row. Each event is a flat
 * `[name, field, value, ...]` array of strings, the shape of a Redis stream entry, which is
 * what BullMQ's QueueEvents parses.
 */
export class EventBatch {
  readonly events: string[][] = [];
  /** Set when the operation made a job claimable (or changed the next due time): wake workers. */
  wakeWorkers = false;
  /** Events for other queues (a flow child finishing moves its parent in the parent's queue). */
  readonly elsewhere = new Map<string, string[][]>();
  /** Other queues whose workers should wake. */
  readonly wakeElsewhere = new Set<string>();

  pushTo(queue: string, event: string, fields: Record<string, string | number> = {}): void {
    const flat = ['event', event];
    for (const k in fields) flat.push(k, String(fields[k]));
    let list = this.elsewhere.get(queue);
    if (!list) this.elsewhere.set(queue, (list = []));
    list.push(flat);
  }

  push(event: string, fields: Record<string, string | number> = {}): void {
    const flat = ['event', event];
    for (const k in fields) flat.push(k, String(fields[k]));
    this.events.push(flat);
  }
}

/** The `jobs_event` id of a queue's counter row (schema V4): above every event id, never an event. */
export const COUNTER_ROW_ID = Number.MAX_SAFE_INTEGER;

/** A queue's newest event row id (`m`, null when it has none): the counter row is not an event. */
export const LATEST_EVENT_SQL = `SELECT max(id) AS m FROM jobs_event WHERE queue = ? AND id < ${COUNTER_ROW_ID}`;

/** Parses a stream position: `"<row>-<index>"`, `"<row>"`, `"0"` or `"0-0"`. */
export function parseEventId(id: string): { row: number; index: number } {
  const dash = id.indexOf('-');
  const row = Number(dash === -1 ? id : id.slice(0, dash));
  const index = dash === -1 ? Number.POSITIVE_INFINITY : Number(id.slice(dash + 1));
  if (!Number.isFinite(row) || Number.isNaN(index)) return { row: 0, index: -1 };
  // A bare row number means "after everything in that row", like a Redis id without sequence.
  return { row, index: dash === -1 && row === 0 ? -1 : index };
}
