import { decodeRecordBatches, encodeRecordBatch, type RecordInput } from '../log/index.js';
import type { LogStore, PartitionLog } from '../log/types.js';
import { badRequest, notFound } from './errors.js';
import { fromLogError, requireTopic } from './kafka-view.js';
import { partitionForKey } from './partitioner.js';
import type { Router } from './router.js';
import { objectBody, oneOf, optionalInt, queryInt, type Fields } from './validate.js';

const ENCODINGS = ['utf8', 'base64'] as const;
type Encoding = (typeof ENCODINGS)[number];

/** Records one produce call may carry; bigger loads go in several calls (the CLI batches). */
export const MAX_RECORDS_PER_CALL = 10_000;
const MAX_READ_LIMIT = 10_000;
const READ_BYTES = 1024 * 1024;

export interface ProducedRange {
  partition: number;
  baseOffset: number;
  lastOffset: number;
  count: number;
}

function bytesField(v: unknown, field: string, enc: Encoding): Buffer | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw badRequest(field, 'must be a string or null');
  if (enc === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw badRequest(field, 'must be base64');
  return Buffer.from(v, enc);
}

function parseRecord(v: unknown, i: number, enc: Encoding): RecordInput & { key: Buffer | null; partition?: number } {
  const field = `records[${i}]`;
  const o = objectBody(v, field);
  const key = bytesField(o.key, `${field}.key`, enc);
  const value = bytesField(o.value, `${field}.value`, enc);
  const headers: Array<{ key: string; value: Buffer | null }> = [];
  if (o.headers !== undefined) {
    const h = objectBody(o.headers, `${field}.headers`);
    for (const [k, hv] of Object.entries(h)) headers.push({ key: k, value: bytesField(hv, `${field}.headers.${k}`, enc) });
  }
  const timestamp = optionalInt(o, 'timestamp', 0, Number.MAX_SAFE_INTEGER, `${field}.`);
  const partition = optionalInt(o, 'partition', 0, 2 ** 31 - 1, `${field}.`);
  return { key, value, headers, ...(timestamp !== undefined ? { timestamp } : {}), ...(partition !== undefined ? { partition } : {}) };
}

function encode(b: Buffer | null, enc: Encoding): string | null {
  return b === null ? null : b.toString(enc);
}

function partitionOf(log: LogStore, topic: string, index: number, field: string): PartitionLog {
  const p = log.partition(topic, index);
  if (!p) throw notFound(`${field}: topic ${JSON.stringify(topic)} has no partition ${index}`);
  return p;
}

/**
 * Produce and read records over HTTP, for the CLI's produce/consume and quick tests. Produced records
 * become ordinary v2 batches, one per partition per call; keyed records without a partition go where
 * Kafka's default partitioner would send them.
 */
export function addRecordRoutes(router: Router, log: LogStore): void {
  let roundRobin = 0;

  router.add('POST', '/api/kafka/topics/:name/records', async (req) => {
    const info = requireTopic(log, req.params.name!);
    const body: Fields = objectBody(await req.json());
    const enc = body.encoding === undefined ? 'utf8' : oneOf(body.encoding, 'encoding', ENCODINGS);
    const defaultPartition = optionalInt(body, 'partition', 0, info.partitions - 1);
    if (!Array.isArray(body.records) || body.records.length === 0 || body.records.length > MAX_RECORDS_PER_CALL) {
      throw badRequest('records', `must be an array of 1 to ${MAX_RECORDS_PER_CALL} records`);
    }
    const records = body.records.map((r, i) => parseRecord(r, i, enc));
    // Keyless records of one call stay together on one partition, rotating between calls.
    const keyless = defaultPartition ?? roundRobin++ % info.partitions;
    const byPartition = new Map<number, RecordInput[]>();
    records.forEach((r, i) => {
      const target = r.partition ?? defaultPartition ?? (r.key ? partitionForKey(r.key, info.partitions) : keyless);
      if (target >= info.partitions) throw badRequest(`records[${i}].partition`, `topic has ${info.partitions} partitions`);
      const list = byPartition.get(target) ?? [];
      list.push({ key: r.key, value: r.value, headers: r.headers, ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}) });
      byPartition.set(target, list);
    });
    const results: ProducedRange[] = [];
    for (const [index, list] of [...byPartition].sort((a, b) => a[0] - b[0])) {
      const p = partitionOf(log, info.name, index, 'partition');
      try {
        const res = await p.append(encodeRecordBatch({ records: list }));
        results.push({ partition: index, baseOffset: res.baseOffset, lastOffset: res.lastOffset, count: list.length });
      } catch (err) {
        throw fromLogError(err);
      }
    }
    return { status: 200, body: { topic: info.name, partitions: results } };
  });

  router.add('GET', '/api/kafka/topics/:name/partitions/:partition/records', (req) => {
    const info = requireTopic(log, req.params.name!);
    const rawIndex = req.params.partition!;
    if (!/^\d+$/.test(rawIndex)) throw badRequest('partition', 'must be a partition number');
    const p = partitionOf(log, info.name, Number(rawIndex), 'partition');
    const enc = oneOf(req.query.get('encoding') ?? 'utf8', 'encoding', ENCODINGS);
    const limit = queryInt(req.query, 'limit', 1, MAX_READ_LIMIT) ?? 100;
    const from = queryInt(req.query, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? p.logStartOffset;
    const end = p.logEndOffset;
    if (from > end) throw badRequest('offset', `beyond the log end offset ${end}`);
    const start = Math.max(from, p.logStartOffset);
    const records: Array<Record<string, unknown>> = [];
    let next = start;
    while (records.length < limit && next < end) {
      let chunks: Buffer[];
      try {
        chunks = p.read(next, READ_BYTES).chunks;
      } catch (err) {
        throw fromLogError(err);
      }
      if (chunks.length === 0) break;
      const before = next;
      for (const batch of decodeRecordBatches(Buffer.concat(chunks))) {
        if (batch.lastOffset < next) continue;
        if (!batch.isControl) {
          for (const r of batch.records) {
            if (r.offset < next || records.length >= limit) continue;
            records.push({
              offset: r.offset,
              timestamp: r.timestamp,
              key: encode(r.key, enc),
              value: encode(r.value, enc),
              headers: Object.fromEntries(r.headers.map((h) => [h.key, encode(h.value, enc)])),
            });
          }
        }
        next = records.length >= limit ? (records[records.length - 1]!.offset as number) + 1 : batch.lastOffset + 1;
        if (records.length >= limit) break;
      }
      if (next === before) break;
    }
    return { status: 200, body: { topic: info.name, partition: p.index, records, nextOffset: next, logStartOffset: p.logStartOffset, logEndOffset: end } };
  });
}
