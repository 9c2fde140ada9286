/**
 * Splits a TCP byte stream into Kafka request frames (a 4-byte big-endian size, then that many bytes).
 *
 * Nothing handed in is kept: reads land in a scratch buffer that the next read overwrites (see
 * src/net/pooled-reads.ts), so each frame is copied out into a buffer of its own, allocated at full
 * size as soon as its size is known. While a large frame is being assembled the reader offers the
 * rest of it as the next read's target, so that the kernel copies those bytes straight into place.
 *
 * Large Produce frames take their buffer from a FrameBufferPool when one is given: on this machine a
 * freshly allocated 1 MiB buffer costs more in page faults than the copy into it, and a reused one is
 * warm. Such a frame is "loaned": the caller must hand it back with `release` once nothing refers to
 * it any more (for Produce: once its appends have settled, the log keeping no view of loaned frames).
 * Other frames come from a Slab (slices never reused, so handlers may keep views of them).
 */
import type { ReadSink } from '../../net/pooled-reads.js';
import { Slab } from '../../log/slab.js';

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

/** Remaining frame bytes below which a read goes to the scratch buffer rather than into the frame. */
const DIRECT_READ_MIN = 16 * 1024;
/** Size prefix (4) and API key (2): enough to pick where a frame goes. */
const PREFIX_BYTES = 6;

export class FrameReader implements ReadSink {
  /** Complete frames not yet handed out, with whether each is loaned; `readyHead` is the next one. */
  private ready: Buffer[] = [];
  private readyLoaned: boolean[] = [];
  private readyHead = 0;
  private readyBytes = 0;
  /** The size prefix and API key of the next frame, while they are incomplete. */
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixFilled = 0;
  /** Declared size of the frame being assembled (-1: prefix not complete yet). */
  private size = -1;
  /** Buffer of the frame being assembled, and how much of it is filled. */
  private assembling: Buffer | null = null;
  private filled = 0;
  private assemblingLoaned = false;
  /** A bad size prefix: handed out by next() after the frames before it, and nothing read after it. */
  private error: FrameSizeError | null = null;
  /** Whether the frame last returned by next() came from the pool (and must be released). */
  lastLoaned = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly pool: FrameBufferPool | null = null,
    private readonly small: Slab = new Slab(16 * 1024, 64 * 1024),
  ) {}

  /** Bytes received but not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.readyBytes + this.filled + this.prefixFilled;
  }

  /** Takes a chunk of the stream; nothing refers to `chunk` once this returns. */
  push(chunk: Buffer): void {
    this.received(chunk, false);
  }

  readTarget(): Buffer | null {
    const out = this.assembling;
    if (out === null || this.error !== null || this.size - this.filled < DIRECT_READ_MIN) return null;
    return out.subarray(this.filled);
  }

  received(bytes: Buffer, inTarget: boolean): void {
    if (this.error !== null) return;
    if (inTarget) {
      // The bytes are already in place, at `filled`.
      this.filled += bytes.length;
      if (this.filled === this.size) this.complete();
      return;
    }
    let at = 0;
    const end = bytes.length;
    while (at < end && this.error === null) {
      if (this.assembling === null) {
        at = this.takePrefix(bytes, at);
        continue;
      }
      const n = Math.min(end - at, this.size - this.filled);
      bytes.copy(this.assembling, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.size) this.complete();
    }
  }

  /** Gives a loaned frame's buffer back for reuse; nothing may refer to `frame` afterwards. */
  release(frame: Buffer): void {
    this.pool?.release(frame);
  }

  /** The next complete frame body (without its size prefix), or null until more bytes arrive. Throws FrameSizeError. */
  next(): Buffer | null {
    if (this.readyHead === this.ready.length) {
      if (this.error !== null) throw this.error;
      return null;
    }
    const i = this.readyHead++;
    const frame = this.ready[i]!;
    this.lastLoaned = this.readyLoaned[i]!;
    this.readyBytes -= frame.length;
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyLoaned = [];
      this.readyHead = 0;
    }
    return frame;
  }

  /** Collects the size prefix and API key from `bytes[at..]`; starts the frame once they are known. */
  private takePrefix(bytes: Buffer, at: number): number {
    if (this.size < 0) {
      const n = Math.min(4 - this.prefixFilled, bytes.length - at);
      bytes.copy(this.prefix, this.prefixFilled, at, at + n);
      this.prefixFilled += n;
      at += n;
      if (this.prefixFilled < 4) return at;
      const size = this.prefix.readInt32BE(0);
      if (size < 0 || size > this.maxFrameBytes) {
        this.error = new FrameSizeError(size, this.maxFrameBytes);
        return bytes.length;
      }
      this.size = size;
    }
    // Wait for the API key before choosing where the frame goes.
    const want = 4 + Math.min(this.size, 2);
    const n = Math.min(want - this.prefixFilled, bytes.length - at);
    bytes.copy(this.prefix, this.prefixFilled, at, at + n);
    this.prefixFilled += n;
    at += n;
    if (this.prefixFilled < want) return at;
    const size = this.size;
    const loan = this.pool !== null && size >= 2 && this.prefix.readInt16BE(4) === PRODUCE_KEY ? this.pool.acquire(size) : null;
    this.assembling = loan ?? (size <= 2 ? Buffer.alloc(size) : this.small.alloc(size));
    this.assemblingLoaned = loan !== null;
    this.prefix.copy(this.assembling, 0, 4, want);
    this.filled = want - 4;
    this.prefixFilled = 0;
    if (this.filled === size) this.complete();
    return at;
  }

  private complete(): void {
    this.ready.push(this.assembling!);
    this.readyLoaned.push(this.assemblingLoaned);
    this.readyBytes += this.size;
    this.assembling = null;
    this.assemblingLoaned = false;
    this.filled = 0;
    this.size = -1;
  }
}
