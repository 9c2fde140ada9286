/**
 * The most recently appended batches of a partition, kept in memory so that consumers at the tail are
 * served without a read syscall. A batch is one buffer (a slab slice) or two: its patched header in the
 * slab and its records in the appender's buffer. Neither is ever written again.
 */
export class TailCache {
  private base: number[] = [];
  private last: number[] = [];
  private bufs: Buffer[] = [];
  private bodies: (Buffer | null)[] = [];
  private sizes: number[] = [];
  /** Memory each entry keeps alive: a records view pins the whole buffer it was cut from. */
  private costs: number[] = [];
  private head = 0;
  private cost = 0;

  constructor(private readonly maxBytes: number) {}

  push(baseOffset: number, lastOffset: number, buf: Buffer, body: Buffer | null = null): void {
    if (this.maxBytes <= 0) return;
    const size = buf.length + (body ? body.length : 0);
    // A request frame holding many batches is counted once per batch: an over-estimate that keeps
    // the memory held by the cache bounded even when the frames are much larger than the batches.
    const cost = buf.length + (body ? Math.max(body.length, body.buffer.byteLength) : 0);
    this.base.push(baseOffset);
    this.last.push(lastOffset);
    this.bufs.push(buf);
    this.bodies.push(body);
    this.sizes.push(size);
    this.costs.push(cost);
    this.cost += cost;
    while (this.cost > this.maxBytes && this.bufs.length - this.head > 0) {
      this.cost -= this.costs[this.head]!;
      this.head++;
    }
    if (this.head > 1024 || this.head === this.bufs.length) {
      for (const a of [this.base, this.last, this.sizes, this.costs]) a.splice(0, this.head);
      this.bufs.splice(0, this.head);
      this.bodies.splice(0, this.head);
      this.head = 0;
    }
  }

  clear(): void {
    // Transient appends clear an already empty cache once per batch: no new arrays for that.
    if (this.bufs.length === 0) return;
    this.base = [];
    this.last = [];
    this.bufs = [];
    this.bodies = [];
    this.sizes = [];
    this.costs = [];
    this.head = 0;
    this.cost = 0;
  }

  /**
   * Batches from the one holding `offset`, those starting below `limit`, up to `maxBytes` (at least one).
   * Null when `offset` is older than the cache. Adjacent slices of one slab are merged into one chunk.
   */
  read(offset: number, limit: number, maxBytes: number): { chunks: Buffer[]; bytes: number; nextOffset: number } | null {
    const n = this.bufs.length;
    if (n === this.head || offset < this.base[this.head]!) return null;
    let lo = this.head;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.last[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let nextOffset = offset;
    for (let i = lo; i < n && this.base[i]! < limit; i++) {
      const size = this.sizes[i]!;
      if (bytes > 0 && bytes + size > maxBytes) break;
      appendChunk(chunks, this.bufs[i]!);
      const body = this.bodies[i];
      if (body) appendChunk(chunks, body);
      bytes += size;
      nextOffset = this.last[i]! + 1;
    }
    return { chunks, bytes, nextOffset };
  }
}

/** Adds `b` to `chunks`, merging it into the previous chunk when it directly follows it in memory. */
function appendChunk(chunks: Buffer[], b: Buffer): void {
  const prev = chunks[chunks.length - 1];
  if (prev && prev.buffer === b.buffer && prev.byteOffset + prev.length === b.byteOffset) {
    chunks[chunks.length - 1] = Buffer.from(prev.buffer, prev.byteOffset, prev.length + b.length);
  } else chunks.push(b);
}
