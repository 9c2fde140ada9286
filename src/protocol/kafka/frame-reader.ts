/**
 * Splits a TCP byte stream into Kafka request frames (a 4-byte big-endian size, then that many bytes).
 *
 * Chunks are kept as a list and only the bytes of one complete frame are ever joined, so a frame that
 * arrives one byte at a time costs one copy, not one per chunk; a frame that lies inside a single chunk
 * is handed out as a view of it without copying.
 */
export class FrameSizeError extends Error {
  readonly size: number;
  constructor(size: number, max: number) {
    super(size < 0 ? `negative frame size ${size}` : `frame size ${size} exceeds the limit of ${max} bytes`);
    this.name = 'FrameSizeError';
    this.size = size;
  }
}

export class FrameReader {
  private chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk; advanced instead of shift() so many tiny chunks stay linear. */
  private first = 0;
  /** Bytes already consumed from chunks[first]. */
  private head = 0;
  private buffered = 0;
  /** Size of the frame being assembled, once its prefix has arrived. */
  private pendingSize = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received but not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame body (without its size prefix), or null until more bytes arrive. Throws FrameSizeError. */
  next(): Buffer | null {
    if (this.pendingSize < 0) {
      if (this.buffered < 4) return null;
      const size = this.readInt32();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      this.pendingSize = size;
    }
    if (this.buffered < this.pendingSize) return null;
    const frame = this.take(this.pendingSize);
    this.pendingSize = -1;
    return frame;
  }

  private readInt32(): number {
    const first = this.chunks[this.first]!;
    if (first.length - this.head >= 4) {
      const v = first.readInt32BE(this.head);
      this.advance(4);
      return v;
    }
    return this.take(4).readInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[this.first];
    if (n === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.advance(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first]!;
      const len = Math.min(c.length - this.head, n - filled);
      c.copy(out, filled, this.head, this.head + len);
      filled += len;
      this.advance(len);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === this.chunks[this.first]!.length) {
      this.first++;
      this.head = 0;
      if (this.first === this.chunks.length) {
        this.chunks = [];
        this.first = 0;
      } else if (this.first >= 1024) {
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
  }
}
