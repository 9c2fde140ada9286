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

/** Where reads put the bytes they return: a Slab, or buffers the caller recycles (see LeasedSlab). */
export interface ReadBuffers {
  alloc(n: number): Buffer;
  shrinkLast(slice: Buffer, keep: number): void;
}

/**
 * Equal-sized blocks that are handed out, given back and handed out again, so that their pages stay
 * mapped (a freshly allocated large buffer costs a page fault per 4 KiB on first touch). Free blocks
 * unused for a whole `trim` period are let go, so a burst does not pin memory for ever.
 */
export class BlockPool {
  private free: Buffer[] = [];
  private usedSinceTrim = false;

  constructor(
    readonly blockBytes: number,
    private readonly maxFree: number,
  ) {}

  take(): Buffer {
    this.usedSinceTrim = true;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.blockBytes);
  }

  give(block: Buffer): void {
    if (this.free.length < this.maxFree && block.length === this.blockBytes) this.free.push(block);
  }

  /** Called periodically: drops the free blocks if none was taken since the previous call. */
  trim(): void {
    if (!this.usedSinceTrim) this.free = [];
    this.usedSinceTrim = false;
  }

  get freeCount(): number {
    return this.free.length;
  }
}

/**
 * A bump allocator over pooled blocks for the buffers of one response. Unlike a Slab its memory is
 * reused: `release` gives every block back to the pool, and must only be called once nothing refers
 * to any buffer it handed out (for a response: once the socket has written it).
 */
export class LeasedSlab implements ReadBuffers {
  private blocks: Buffer[] = [];
  private current: Buffer | null = null;
  private used = 0;
  private lastStart = -1;

  constructor(private readonly pool: BlockPool) {}

  alloc(n: number): Buffer {
    if (n > this.pool.blockBytes) {
      this.lastStart = -1;
      return Buffer.allocUnsafeSlow(n);
    }
    if (this.current === null || this.used + n > this.current.length) {
      this.current = this.pool.take();
      this.blocks.push(this.current);
      this.used = 0;
    }
    this.lastStart = this.used;
    this.used += n;
    return this.current.subarray(this.lastStart, this.used);
  }

  shrinkLast(slice: Buffer, keep: number): void {
    const c = this.current;
    if (c === null || this.lastStart < 0 || slice.buffer !== c.buffer || slice.byteOffset !== c.byteOffset + this.lastStart) return;
    this.used = this.lastStart + keep;
  }

  get blockCount(): number {
    return this.blocks.length;
  }

  release(): void {
    for (const b of this.blocks) this.pool.give(b);
    this.blocks = [];
    this.current = null;
    this.used = 0;
    this.lastStart = -1;
  }
}
