export interface AssignedPartitions {
  topic: string;
  partitions: number[];
}

/**
 * Reads the topic-partitions out of a "consumer" protocol member assignment
 * (ConsumerProtocolAssignment). Every version starts with int16 version and the partition list, so
 * only those are read. Returns null for bytes that are not such an assignment (other protocol types,
 * or empty while the group rebalances).
 */
export function decodeAssignment(bytes: Buffer): AssignedPartitions[] | null {
  if (bytes.length < 6) return null;
  let pos = 2;
  const topicCount = bytes.readInt32BE(pos);
  pos += 4;
  if (topicCount < 0) return null;
  const out: AssignedPartitions[] = [];
  for (let t = 0; t < topicCount; t++) {
    if (pos + 2 > bytes.length) return null;
    const len = bytes.readInt16BE(pos);
    pos += 2;
    if (len < 0 || pos + len + 4 > bytes.length) return null;
    const topic = bytes.toString('utf8', pos, pos + len);
    pos += len;
    const count = bytes.readInt32BE(pos);
    pos += 4;
    if (count < 0 || pos + count * 4 > bytes.length) return null;
    const partitions: number[] = [];
    for (let i = 0; i < count; i++, pos += 4) partitions.push(bytes.readInt32BE(pos));
    out.push({ topic, partitions });
  }
  return out;
}
