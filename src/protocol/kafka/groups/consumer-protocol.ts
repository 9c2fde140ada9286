/**
 * Reads the topic list out of a "consumer" protocol member's metadata (ConsumerProtocolSubscription).
 * Every version starts with the same two fields (int16 version, then []string Topics), so only those are
 * read; the rest (user data, owned partitions, rack) does not matter to the coordinator.
 * Returns null when the bytes are not a subscription, so callers can assume the worst.
 */
export function subscribedTopics(metadata: Buffer): string[] | null {
  if (metadata.length < 6) return null;
  const count = metadata.readInt32BE(2);
  if (count < 0) return null;
  const topics: string[] = [];
  let pos = 6;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > metadata.length) return null;
    const len = metadata.readInt16BE(pos);
    pos += 2;
    if (len < 0 || pos + len > metadata.length) return null;
    topics.push(metadata.toString('utf8', pos, pos + len));
    pos += len;
  }
  return topics;
}

/** Encodes a version-0 subscription; tests and tools use it to build realistic member metadata. */
export function encodeSubscription(topics: readonly string[], userData: Buffer | null = null): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(6);
  head.writeInt16BE(0, 0);
  head.writeInt32BE(topics.length, 2);
  parts.push(head);
  for (const t of topics) {
    const name = Buffer.from(t, 'utf8');
    const len = Buffer.alloc(2);
    len.writeInt16BE(name.length, 0);
    parts.push(len, name);
  }
  const ud = Buffer.alloc(4);
  ud.writeInt32BE(userData === null ? -1 : userData.length, 0);
  parts.push(ud);
  if (userData) parts.push(userData);
  return Buffer.concat(parts);
}
