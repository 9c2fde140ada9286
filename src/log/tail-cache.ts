/**
 * The most recently appended batches of a partition, kept in memory (slices of the append slabs, which
 * are never overwritten) so that consumers at the tail are served without a read syscall.
 */
export class TailCache {
  private base: number[] = [];
  private last: number[] = [];
  private bufs: Buffer[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(baseOffset: number, lastOffset: number, buf: Buffer): void {
    if (this.maxBytes <= 0) return;
    this.base.push(baseOffset);
    this.last.push(lastOffset);
    this.bufs.push(buf);
    this.bytes += buf.length;
    while (this.bytes > this.maxBytes && this.bufs.length - this.head > 1) {
      this.bytes -= this.bufs[this.head]!.length;
      this.head++;
    }
    if (this.head > 1024) {
      this.base.splice(0, this.head);
      this.last.splice(0, this.head);
      this.bufs.splice(0, this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.base = [];
    this.last = [];
    this.bufs = [];
    this.head = 0;
    this.bytes = 0;
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
      const b = this.bufs[i]!;
      if (bytes > 0 && bytes + b.length > maxBytes) break;
      const prev = chunks[chunks.length - 1];
      if (prev && prev.buffer === b.buffer && prev.byteOffset + prev.length === b.byteOffset) {
        chunks[chunks.length - 1] = Buffer.from(prev.buffer, prev.byteOffset, prev.length + b.length);
      } else chunks.push(b);
      bytes += b.length;
      nextOffset = this.last[i]! + 1;
    }
    return { chunks, bytes, nextOffset };
  }
}
