/**
 * Per-partition byte and record counters of the Kafka door, bumped by the produce and fetch handlers
 * and read by /metrics at scrape time. The hot path pays one Map lookup per topic and a few additions
 * per partition: counters are plain numbers in an object made once per partition, never per request.
 */

/** Lifetime totals of one partition, since the broker started. */
export interface PartitionTraffic {
  /** Record-batch bytes appended by Produce requests. */
  bytesIn: number;
  recordsIn: number;
  /** Record-batch bytes returned by Fetch responses. */
  bytesOut: number;
  recordsOut: number;
}

/** What /metrics reads: a topic's counters indexed by partition (holes for partitions never touched). */
export type KafkaTrafficSource = (topic: string) => ReadonlyArray<Readonly<PartitionTraffic> | undefined> | undefined;

export class KafkaTraffic {
  private readonly topics = new Map<string, PartitionTraffic[]>();

  /** Every partition's counters of a topic, created on first use; index it with `slot`. */
  topic(topic: string): PartitionTraffic[] {
    let parts = this.topics.get(topic);
    if (!parts) this.topics.set(topic, (parts = []));
    return parts;
  }

  slot(parts: PartitionTraffic[], index: number): PartitionTraffic {
    return (parts[index] ??= { bytesIn: 0, recordsIn: 0, bytesOut: 0, recordsOut: 0 });
  }

  get(topic: string): readonly PartitionTraffic[] | undefined {
    return this.topics.get(topic);
  }

  /** A deleted topic's counters go with it, so a topic re-created under the same name starts at zero. */
  forget(topic: string): void {
    this.topics.delete(topic);
  }
}

/** Bytes of a v2 record batch before its `batchLength` field (baseOffset int64 + batchLength int32). */
const BATCH_LENGTH_END = 12;
/** Offset of `recordsCount` (int32) in a v2 batch header. */
const RECORDS_COUNT_AT = 57;

/**
 * Records in a buffer of whole v2 record batches, read from each batch header (no decoding). A
 * truncated trailing batch (a fetch may end mid-batch) is not counted.
 */
export function countRecords(buf: Buffer): number {
  let n = 0;
  let pos = 0;
  while (pos + RECORDS_COUNT_AT + 4 <= buf.length) {
    const next = pos + BATCH_LENGTH_END + buf.readInt32BE(pos + 8);
    if (next > buf.length || next <= pos) break;
    n += buf.readInt32BE(pos + RECORDS_COUNT_AT);
    pos = next;
  }
  return n;
}
