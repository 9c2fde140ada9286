import { packText, unpackText } from './packed-text.js';

/** A batch's events as stored in `jobs_event.events` (packed when long: see packed-text.ts). */
export function encodeEvents(events: readonly string[][]): string | Buffer {
  return packText(JSON.stringify(events));
}

/** What {@link encodeEvents} stored. */
export function decodeEvents(stored: string | Buffer): string[][] {
  return JSON.parse(unpackText(stored)) as string[][];
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
