/**
 * Kafka primitive encodings (big-endian fixed ints, zigzag varints, classic and compact strings/bytes/arrays,
 * tagged-field sections). The generated codecs in `generated/` are straight-line calls into these two classes.
 *
 * 64-bit integers are JS numbers: exact up to 2^53, which covers every offset, id and timestamp the broker
 * deals in, and avoids BigInt allocation on the hot path.
 */
import { RailyardError } from '../../errors.js';

/** Malformed input: the server closes the connection that sent it. */
export class KafkaDecodeError extends RailyardError {}

/** A request for an API key or version this broker has no schema for. */
export class UnsupportedApiVersionError extends KafkaDecodeError {
  readonly apiKey: number;
  readonly apiVersion: number;
  constructor(apiKey: number, apiVersion: number) {
    super(`unsupported Kafka API key ${apiKey} version ${apiVersion}`);
    this.apiKey = apiKey;
    this.apiVersion = apiVersion;
  }
}

/** A body the encoder cannot represent in the asked version (e.g. null where that version forbids it). */
export class KafkaEncodeError extends RailyardError {}

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
export const ZERO_UUID = '00000000000000000000000000000000';

const TWO_32 = 4294967296;

/**
 * Sequential reader over one frame. `bytes`/`records` results are views into the input buffer (no copy),
 * so the caller must not reuse that memory while decoded objects are alive.
 */
export class Reader {
  readonly buf: Buffer;
  offset: number;

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  error(message: string): KafkaDecodeError {
    return new KafkaDecodeError(`${message} at byte ${this.offset} of ${this.buf.length}`);
  }

  private need(n: number): number {
    const at = this.offset;
    if (at + n > this.buf.length) throw this.error(`truncated input: need ${n} bytes`);
    this.offset = at + n;
    return at;
  }

  skip(n: number): void {
    if (n < 0) throw this.error(`negative skip ${n}`);
    this.need(n);
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }

  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }

  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }

  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }

  int64(): number {
    const at = this.need(8);
    return this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4);
  }

  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }

  uuid(): string {
    const at = this.need(16);
    return this.buf.toString('hex', at, at + 16);
  }

  unsignedVarint(): number {
    const buf = this.buf;
    let at = this.offset;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (at >= buf.length) throw this.error('truncated varint');
      const b = buf[at++]!;
      if (shift === 28) {
        // 5th byte: only 4 bits fit in 32 bits
        if (b > 0x0f) throw this.error('varint longer than 32 bits');
        result += b * 268435456;
        break;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        result >>>= 0;
        break;
      }
      shift += 7;
    }
    this.offset = at;
    return result;
  }

  varint(): number {
    const u = this.unsignedVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag 64-bit varint, exact while |value| <= 2^52 (the zigzag doubling must stay below 2^53). */
  varlong(): number {
    const buf = this.buf;
    let at = this.offset;
    let result = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (i >= 10) throw this.error('varlong longer than 64 bits');
      if (at >= buf.length) throw this.error('truncated varlong');
      const b = buf[at++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      mul *= 128;
    }
    this.offset = at;
    // zigzag decode without 32-bit bitwise ops
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  private utf8(len: number): string {
    const at = this.need(len);
    return this.buf.toString('utf8', at, at + len);
  }

  string(): string {
    const len = this.int16();
    if (len < 0) throw this.error('null string where a string is required');
    return this.utf8(len);
  }

  nullableString(): string | null {
    const len = this.int16();
    return len < 0 ? null : this.utf8(len);
  }

  compactString(): string {
    const len = this.unsignedVarint() - 1;
    if (len < 0) throw this.error('null string where a string is required');
    return this.utf8(len);
  }

  compactNullableString(): string | null {
    const len = this.unsignedVarint() - 1;
    return len < 0 ? null : this.utf8(len);
  }

  private slice(len: number): Buffer {
    const at = this.need(len);
    return this.buf.subarray(at, at + len);
  }

  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) throw this.error('null bytes where bytes are required');
    return this.slice(len);
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    return len < 0 ? null : this.slice(len);
  }

  compactBytes(): Buffer {
    const len = this.unsignedVarint() - 1;
    if (len < 0) throw this.error('null bytes where bytes are required');
    return this.slice(len);
  }

  compactNullableBytes(): Buffer | null {
    const len = this.unsignedVarint() - 1;
    return len < 0 ? null : this.slice(len);
  }

  /**
   * Classic array length; -1 means null. A count larger than the bytes left cannot be honest (every element
   * takes at least one byte), and refusing it keeps a hostile frame from allocating a huge array.
   */
  arrayLength(): number {
    const n = this.int32();
    if (n > this.remaining) throw this.error(`array length ${n} exceeds the remaining input`);
    return n < 0 ? -1 : n;
  }

  /** Compact array length (unsigned varint N+1); -1 means null. */
  compactArrayLength(): number {
    const n = this.unsignedVarint() - 1;
    if (n > this.remaining) throw this.error(`array length ${n} exceeds the remaining input`);
    return n;
  }

  /** Skips a whole tagged-field section (headers and structs with no known tags). */
  skipTaggedFields(): void {
    const count = this.unsignedVarint();
    for (let i = 0; i < count; i++) {
      this.unsignedVarint();
      this.skip(this.unsignedVarint());
    }
  }

  /** Reads one tagged field's size and returns the offset where its data ends. */
  taggedFieldEnd(): number {
    const size = this.unsignedVarint();
    const end = this.offset + size;
    if (end > this.buf.length) throw this.error(`tagged field of ${size} bytes exceeds the input`);
    return end;
  }

  /** Checks that a known tagged field's decoder consumed exactly its declared size. */
  endTaggedField(end: number): void {
    if (this.offset !== end) throw this.error(`tagged field data does not match its size (ends at ${end})`);
  }
}

/** First slab; a busy long-lived writer doubles its slabs up to MAX_SLAB, a short-lived one stays small. */
const DEFAULT_SLAB = 8 * 1024;
const MAX_SLAB = 1024 * 1024;

/**
 * Output builder. Bytes go into a slab that is only ever appended to: chunks handed out by `finishFrame`
 * stay valid while the socket still holds them, and the next frame continues in the same slab (no
 * allocation per response, so keep one writer per connection). `records` splices external buffers (log segments' batches) as separate chunks
 * instead of copying them.
 */
export class Writer {
  private slabSize: number;
  private buf: Buffer;
  private pos = 0;
  /** Start of the bytes written since the last seal (not yet in `chunks`). */
  private segStart = 0;
  private chunks: Buffer[] = [];
  private sealedBytes = 0;
  /** Where the current frame's 4-byte size goes. */
  private sizeBuf: Buffer;
  private sizeAt = 0;

  constructor(slabSize = DEFAULT_SLAB) {
    this.slabSize = Math.max(64, slabSize);
    this.buf = Buffer.allocUnsafe(this.slabSize);
    this.sizeBuf = this.buf;
    this.begin();
  }

  /** Bytes written to the current message (excluding the frame size prefix). */
  get length(): number {
    return this.sealedBytes + (this.pos - this.segStart) - 4;
  }

  private begin(): void {
    this.ensure(4);
    this.sizeBuf = this.buf;
    this.sizeAt = this.pos;
    this.pos += 4;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.seal();
    this.slabSize = Math.min(this.slabSize * 2, MAX_SLAB);
    this.buf = Buffer.allocUnsafe(Math.max(this.slabSize, n));
    this.pos = 0;
    this.segStart = 0;
  }

  private seal(): void {
    if (this.pos > this.segStart) {
      this.chunks.push(this.buf.subarray(this.segStart, this.pos));
      this.sealedBytes += this.pos - this.segStart;
    }
    this.segStart = this.pos;
  }

  /** Size-prefixed frame of everything written since the last finish, as chunks for cork/write/uncork. */
  finishFrame(): Buffer[] {
    this.seal();
    this.sizeBuf.writeInt32BE(this.sealedBytes - 4, this.sizeAt);
    const out = this.chunks;
    this.chunks = [];
    this.sealedBytes = 0;
    this.begin();
    return out;
  }

  /** Everything written since the last finish as one buffer, without a size prefix (for tests and nested encodings). */
  finish(): Buffer {
    const frame = this.finishFrame();
    const whole = frame.length === 1 ? frame[0]! : Buffer.concat(frame);
    return whole.subarray(4);
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uuid(hex: string): void {
    if (hex.length !== 32) throw new KafkaEncodeError(`uuid must be 32 hex digits, got ${JSON.stringify(hex)}`);
    this.ensure(16);
    const n = this.buf.write(hex, this.pos, 16, 'hex');
    if (n !== 16) throw new KafkaEncodeError(`uuid must be 32 hex digits, got ${JSON.stringify(hex)}`);
    this.pos += 16;
  }

  unsignedVarint(v: number): void {
    this.ensure(5);
    let u = v >>> 0;
    while (u >= 0x80) {
      this.buf[this.pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    this.buf[this.pos++] = u;
  }

  varint(v: number): void {
    this.unsignedVarint((v << 1) ^ (v >> 31));
  }

  /** Zigzag 64-bit varint, exact while |value| <= 2^52 (the zigzag doubling must stay below 2^53). */
  varlong(v: number): void {
    this.ensure(10);
    let u = v >= 0 ? v * 2 : -v * 2 - 1;
    while (u >= 0x80) {
      this.buf[this.pos++] = (u % 128) | 0x80;
      u = Math.floor(u / 128);
    }
    this.buf[this.pos++] = u;
  }

  private utf8(s: string, len: number): void {
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 0x7fff) throw new KafkaEncodeError(`string of ${len} bytes is too long for an int16 length`);
    this.int16(len);
    this.utf8(s, len);
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1);
    else this.string(s);
  }

  compactString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.unsignedVarint(len + 1);
    this.utf8(s, len);
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.unsignedVarint(0);
    else this.compactString(s);
  }

  /** Raw bytes with no length prefix. */
  raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  bytes(b: Buffer): void {
    this.int32(b.length);
    this.raw(b);
  }

  nullableBytes(b: Buffer | null): void {
    if (b === null) this.int32(-1);
    else this.bytes(b);
  }

  compactBytes(b: Buffer): void {
    this.unsignedVarint(b.length + 1);
    this.raw(b);
  }

  compactNullableBytes(b: Buffer | null): void {
    if (b === null) this.unsignedVarint(0);
    else this.compactBytes(b);
  }

  arrayLength(n: number): void {
    this.int32(n);
  }

  /** Compact array length; -1 writes null. */
  compactArrayLength(n: number): void {
    this.unsignedVarint(n + 1);
  }

  /**
   * A `records` field: a length prefix, then the given buffers spliced in as they are (not copied).
   * `null` writes the null marker.
   */
  records(chunks: Buffer | readonly Buffer[] | null, compact: boolean): void {
    if (chunks === null) {
      if (compact) this.unsignedVarint(0);
      else this.int32(-1);
      return;
    }
    let total = 0;
    if (Buffer.isBuffer(chunks)) total = chunks.length;
    else for (let i = 0; i < chunks.length; i++) total += chunks[i]!.length;
    if (compact) this.unsignedVarint(total + 1);
    else this.int32(total);
    if (total === 0) return;
    this.seal();
    if (Buffer.isBuffer(chunks)) {
      this.chunks.push(chunks);
    } else {
      for (let i = 0; i < chunks.length; i++) if (chunks[i]!.length > 0) this.chunks.push(chunks[i]!);
    }
    this.sealedBytes += total;
  }

  /** An empty tagged-field section (headers, structs with nothing tagged to send). */
  emptyTaggedFields(): void {
    this.unsignedVarint(0);
  }

  /** One tagged field: tag, size, then whatever `write` puts (sized via a small scratch writer). */
  taggedField(tag: number, write: (w: Writer) => void): void {
    const scratch = new Writer(256);
    write(scratch);
    const frame = scratch.finishFrame();
    const size = scratch.lastFrameBytes(frame);
    this.unsignedVarint(tag);
    this.unsignedVarint(size);
    let first = true;
    for (const c of frame) {
      const data = first ? c.subarray(4) : c;
      first = false;
      if (data.length === 0) continue;
      this.seal();
      this.chunks.push(data);
      this.sealedBytes += data.length;
    }
  }

  private lastFrameBytes(frame: Buffer[]): number {
    let n = -4;
    for (const c of frame) n += c.length;
    return n;
  }
}
