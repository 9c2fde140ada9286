/**
 * Bump allocator for buffers that are handed out and never written again: slices of a larger slab.
 * A slab is dropped (left to the GC with the slices still referencing it) when full, never reused, so
 * a slice given to a response can never be overwritten. It saves the page faults of allocating one
 * fresh large buffer per append or read.
 */
export class Slab {
  private buf: Buffer;
  private used = 0;
  private lastStart = -1;

  /** The first slab is allocated on first use, so idle partitions cost no memory. */
  constructor(private slabBytes: number, private readonly maxSlabBytes = slabBytes) {
    this.buf = Buffer.alloc(0);
  }

  alloc(n: number): Buffer {
    if (n > this.maxSlabBytes) {
      this.lastStart = -1;
      return Buffer.allocUnsafeSlow(n);
    }
    if (this.used + n > this.buf.length) {
      // Small, idle users keep small slabs; busy ones grow to the maximum.
      if (this.buf.length > 0) this.slabBytes = Math.min(this.maxSlabBytes, Math.max(this.slabBytes * 2, n));
      else this.slabBytes = Math.max(this.slabBytes, n);
      this.buf = Buffer.allocUnsafeSlow(this.slabBytes);
      this.used = 0;
    }
    this.lastStart = this.used;
    this.used += n;
    return this.buf.subarray(this.lastStart, this.used);
  }

  /** Gives back the end of the most recent allocation, keeping its first `keep` bytes. */
  shrinkLast(slice: Buffer, keep: number): void {
    if (this.lastStart < 0 || slice.buffer !== this.buf.buffer || slice.byteOffset !== this.buf.byteOffset + this.lastStart) return;
    this.used = this.lastStart + keep;
  }
}
