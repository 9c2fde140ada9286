/**
 * Splits a TCP byte stream into Kafka request frames (a 4-byte big-endian size, then that many bytes).
 *
 * A frame that lies inside a single chunk is handed out as a view of it without copying. A frame that
 * spans chunks gets its buffer once, at full size, as soon as its size is known, and each chunk is
 * copied into it as it is consumed (never a concat, and socket chunks are let go early).
 *
 * Large Produce frames take their buffer from a FrameBufferPool when one is given: on this machine a
 * freshly allocated 1 MiB buffer costs more in page faults than the copy into it, and a reused one is
 * warm. Such a frame is "loaned": the caller must hand it back with `release` once nothing refers to
 * it any more (for Produce: once its appends have settled, the log keeping no view of loaned frames).
 */
export class FrameSizeError extends Error {
  readonly size: number;
  constructor(size: number, max: number) {
    super(size < 0 ? `negative frame size ${size}` : `frame size ${size} exceeds the limit of ${max} bytes`);
    this.name = 'FrameSizeError';
    this.size = size;
  }
}

/** API key of Produce: its frames are the large ones, and its handler is the one that can give them back. */
const PRODUCE_KEY = 0;

/**
 * Reusable buffers for large frames, shared by the connections of one server. Buffers are whole
 * allocations of `bufferBytes`; frames use their beginning.
 */
export class FrameBufferPool {
  private free: Buffer[] = [];
  private usedSinceTrim = false;
  /** Frames up to this size are pooled; smaller ones than `minFrameBytes` are cheap to allocate anyway. */
  constructor(
    readonly bufferBytes = 2 * 1024 * 1024,
    private readonly maxFree = 16,
    readonly minFrameBytes = 64 * 1024,
  ) {}

  acquire(size: number): Buffer | null {
    if (size > this.bufferBytes || size < this.minFrameBytes) return null;
    this.usedSinceTrim = true;
    const buf = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    return buf.subarray(0, size);
  }

  /** Takes back a frame from `acquire` (its whole underlying allocation). */
  release(frame: Buffer): void {
    if (this.free.length >= this.maxFree || frame.byteOffset !== 0 || frame.buffer.byteLength !== this.bufferBytes) return;
    this.free.push(Buffer.from(frame.buffer, 0, this.bufferBytes));
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Called periodically: drops the free buffers if none was taken since the previous call. */
  trim(): void {
    if (!this.usedSinceTrim) this.free = [];
    this.usedSinceTrim = false;
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
  /** Buffer of the frame being assembled across chunks, and how much of it is filled. */
  private assembling: Buffer | null = null;
  private filled = 0;
  private assemblingLoaned = false;
  /** Whether the frame last returned by next() came from the pool (and must be released). */
  lastLoaned = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly pool: FrameBufferPool | null = null,
  ) {}

  /** Bytes received but not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.buffered + this.filled;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Gives a loaned frame's buffer back for reuse; nothing may refer to `frame` afterwards. */
  release(frame: Buffer): void {
    this.pool?.release(frame);
  }

  /** The next complete frame body (without its size prefix), or null until more bytes arrive. Throws FrameSizeError. */
  next(): Buffer | null {
    if (this.pendingSize < 0) {
      if (this.buffered < 4) return null;
      const size = this.readInt32();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      this.pendingSize = size;
    }
    const size = this.pendingSize;
    if (this.assembling === null) {
      const first = this.chunks[this.first];
      if (first !== undefined && first.length - this.head >= size) {
        this.pendingSize = -1;
        this.lastLoaned = false;
        return this.view(size);
      }
      if (size === 0) {
        this.pendingSize = -1;
        this.lastLoaned = false;
        return Buffer.alloc(0);
      }
      // Wait for the API key before choosing where the frame goes.
      if (this.buffered < 2 && this.buffered < size) return null;
      const loan = this.pool !== null && this.peekInt16() === PRODUCE_KEY ? this.pool.acquire(size) : null;
      this.assembling = loan ?? Buffer.allocUnsafe(size);
      this.assemblingLoaned = loan !== null;
      this.filled = 0;
    }
    const out = this.assembling;
    while (this.filled < size && this.buffered > 0) {
      const c = this.chunks[this.first]!;
      const len = Math.min(c.length - this.head, size - this.filled);
      c.copy(out, this.filled, this.head, this.head + len);
      this.filled += len;
      this.advance(len);
    }
    if (this.filled < size) return null;
    this.lastLoaned = this.assemblingLoaned;
    this.assembling = null;
    this.assemblingLoaned = false;
    this.filled = 0;
    this.pendingSize = -1;
    return out;
  }

  private peekInt16(): number {
    const c = this.chunks[this.first]!;
    if (c.length - this.head >= 2) return c.readInt16BE(this.head);
    const next = this.chunks[this.first + 1]!;
    return ((c[this.head]! << 8) | next[0]!) << 16 >> 16;
  }

  private readInt32(): number {
    const first = this.chunks[this.first]!;
    if (first.length - this.head >= 4) {
      const v = first.readInt32BE(this.head);
      this.advance(4);
      return v;
    }
    const tmp = Buffer.allocUnsafe(4);
    for (let i = 0; i < 4; i++) {
      tmp[i] = this.chunks[this.first]![this.head]!;
      this.advance(1);
    }
    return tmp.readInt32BE(0);
  }

  private view(n: number): Buffer {
    const first = this.chunks[this.first]!;
    const v = first.subarray(this.head, this.head + n);
    this.advance(n);
    return v;
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
