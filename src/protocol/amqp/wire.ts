/**
 * Primitive AMQP 0-9-1 wire types. Field tables keep every value's type tag so that a table read from
 * a client is written back byte for byte (headers travel through the broker untouched in meaning and form).
 */

/** Thrown when a payload ends early or holds an impossible value; the connection answers 502 SYNTAX_ERROR. */
export class WireSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireSyntaxError';
  }
}

export type FieldValue =
  | { readonly type: 't'; readonly value: boolean }
  | { readonly type: 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'f' | 'd'; readonly value: number }
  | { readonly type: 'l' | 'L' | 'T'; readonly value: bigint }
  | { readonly type: 'D'; readonly value: { readonly scale: number; readonly digits: number } }
  | { readonly type: 'S' | 'x'; readonly value: Buffer }
  | { readonly type: 'A'; readonly value: readonly FieldValue[] }
  | { readonly type: 'F'; readonly value: FieldTable }
  | { readonly type: 'V'; readonly value: null };

/** Insertion-ordered, so encoding reproduces the client's field order. */
export type FieldTable = Map<string, FieldValue>;

/**
 * Reads one payload. Everything it returns is detached from the buffer (strings, copied long
 * strings), so the buffer may be reused once decoding is done: frames are ranges of a socket read or
 * of the frame parser's reassembly buffer, and decoded arguments and headers outlive both.
 */
export class Reader {
  pos: number;
  buf: Buffer;
  end: number;
  /** Where the payload starts in `buf`; error messages count from it. */
  private base: number;
  private bitByte = 0;
  private bitIndex = 8;

  constructor(buf: Buffer, pos = 0, end = buf.length, base = pos) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.base = base;
  }

  /** Points this reader at another payload, so a connection decodes every frame with one reader. */
  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.base = start;
    this.bitIndex = 8;
    return this;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new WireSyntaxError(`payload truncated: need ${n} bytes at ${this.pos - this.base}, have ${this.end - this.pos}`);
    this.bitIndex = 8;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Delivery tags and TTLs stay far below 2^53, so a number is exact and cheaper than a bigint. */
  u64(): number {
    this.need(8);
    const v = this.buf.readUInt32BE(this.pos) * 0x1_0000_0000 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  bit(): boolean {
    if (this.bitIndex > 7) {
      const byte = this.u8();
      this.bitByte = byte;
      this.bitIndex = 0;
    }
    return ((this.bitByte >> this.bitIndex++) & 1) === 1;
  }

  shortstr(): string {
    const len = this.u8();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  longstr(): Buffer {
    const len = this.u32();
    this.need(len);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return b;
  }

  table(): FieldTable {
    const len = this.u32();
    this.need(len);
    const end = this.pos + len;
    const sub = new Reader(this.buf, this.pos, end, this.base);
    const out: FieldTable = new Map();
    while (sub.pos < end) {
      const key = sub.shortstr();
      out.set(key, sub.fieldValue());
    }
    this.pos = end;
    return out;
  }

  fieldValue(): FieldValue {
    const tag = String.fromCharCode(this.u8());
    switch (tag) {
      case 't':
        return { type: 't', value: this.u8() !== 0 };
      case 'b':
        this.need(1);
        return { type: 'b', value: this.buf.readInt8(this.pos++) };
      case 'B':
        return { type: 'B', value: this.u8() };
      case 's': {
        this.need(2);
        const value = this.buf.readInt16BE(this.pos);
        this.pos += 2;
        return { type: 's', value };
      }
      case 'u':
        return { type: 'u', value: this.u16() };
      case 'I': {
        this.need(4);
        const value = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return { type: 'I', value };
      }
      case 'i':
        return { type: 'i', value: this.u32() };
      case 'l': {
        this.need(8);
        const value = this.buf.readBigInt64BE(this.pos);
        this.pos += 8;
        return { type: 'l', value };
      }
      case 'L':
      case 'T': {
        this.need(8);
        const value = this.buf.readBigUInt64BE(this.pos);
        this.pos += 8;
        return { type: tag, value };
      }
      case 'f': {
        this.need(4);
        const value = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        return { type: 'f', value };
      }
      case 'd': {
        this.need(8);
        const value = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return { type: 'd', value };
      }
      case 'D': {
        const scale = this.u8();
        return { type: 'D', value: { scale, digits: this.u32() } };
      }
      case 'S':
      case 'x':
        return { type: tag, value: this.longstr() };
      case 'A': {
        const len = this.u32();
        this.need(len);
        const end = this.pos + len;
        const sub = new Reader(this.buf, this.pos, end, this.base);
        const items: FieldValue[] = [];
        while (sub.pos < end) items.push(sub.fieldValue());
        this.pos = end;
        return { type: 'A', value: items };
      }
      case 'F':
        return { type: 'F', value: this.table() };
      case 'V':
        return { type: 'V', value: null };
      default:
        throw new WireSyntaxError(`unknown field value type ${JSON.stringify(tag)}`);
    }
  }
}

export class Writer {
  buf: Buffer;
  pos = 0;
  private bitPos = -1;
  private bitIndex = 8;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private endBits(): void {
    this.bitIndex = 8;
  }

  u8(v: number): void {
    this.endBits();
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.endBits();
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.endBits();
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  u64(v: number): void {
    this.endBits();
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000) >>> 0, this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
  }

  bit(v: boolean): void {
    if (this.bitIndex > 7) {
      this.ensure(1);
      this.bitPos = this.pos;
      this.buf[this.pos++] = 0;
      this.bitIndex = 0;
    }
    if (v) this.buf[this.bitPos]! |= 1 << this.bitIndex;
    this.bitIndex++;
  }

  shortstr(s: string): void {
    this.endBits();
    const len = Buffer.byteLength(s);
    if (len > 255) throw new WireSyntaxError(`short string longer than 255 bytes: ${len}`);
    this.ensure(1 + len);
    this.buf[this.pos++] = len;
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  longstr(b: Buffer | string): void {
    const bytes = typeof b === 'string' ? Buffer.from(b) : b;
    this.u32(bytes.length);
    this.bytes(bytes);
  }

  bytes(b: Buffer): void {
    this.endBits();
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  table(t: FieldTable): void {
    this.u32(0);
    const lenAt = this.pos - 4;
    for (const [k, v] of t) {
      this.shortstr(k);
      this.fieldValue(v);
    }
    this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
  }

  fieldValue(f: FieldValue): void {
    this.u8(f.type.charCodeAt(0));
    switch (f.type) {
      case 't':
        this.u8(f.value ? 1 : 0);
        return;
      case 'b':
        this.ensure(1);
        this.buf.writeInt8(f.value, this.pos++);
        return;
      case 'B':
        this.u8(f.value);
        return;
      case 's':
        this.ensure(2);
        this.buf.writeInt16BE(f.value, this.pos);
        this.pos += 2;
        return;
      case 'u':
        this.u16(f.value);
        return;
      case 'I':
        this.ensure(4);
        this.buf.writeInt32BE(f.value, this.pos);
        this.pos += 4;
        return;
      case 'i':
        this.u32(f.value);
        return;
      case 'l':
        this.ensure(8);
        this.buf.writeBigInt64BE(f.value, this.pos);
        this.pos += 8;
        return;
      case 'L':
      case 'T':
        this.ensure(8);
        this.buf.writeBigUInt64BE(f.value, this.pos);
        this.pos += 8;
        return;
      case 'f':
        this.ensure(4);
        this.buf.writeFloatBE(f.value, this.pos);
        this.pos += 4;
        return;
      case 'd':
        this.ensure(8);
        this.buf.writeDoubleBE(f.value, this.pos);
        this.pos += 8;
        return;
      case 'D':
        this.u8(f.value.scale);
        this.u32(f.value.digits);
        return;
      case 'S':
      case 'x':
        this.longstr(f.value);
        return;
      case 'A': {
        this.u32(0);
        const lenAt = this.pos - 4;
        for (const item of f.value) this.fieldValue(item);
        this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
        return;
      }
      case 'F':
        this.table(f.value);
        return;
      case 'V':
        return;
    }
  }

  /** A copy of what was written, detached from this writer's (reused) buffer. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    this.bitIndex = 8;
    return out;
  }
}

/** Convenience accessors for tables the broker reads (arguments, headers). */
export function fieldString(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.type === 'S' || v.type === 'x') return v.value.toString('utf8');
  return undefined;
}

export function fieldNumber(v: FieldValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  switch (v.type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'f':
    case 'd':
      return v.value;
    case 'l':
    case 'L':
    case 'T':
      return Number(v.value);
    case 'S':
      return /^-?\d+$/.test(v.value.toString()) ? Number(v.value.toString()) : undefined;
    default:
      return undefined;
  }
}

export function fieldBool(v: FieldValue | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v.type === 't') return v.value;
  return undefined;
}

export function str(value: string): FieldValue {
  return { type: 'S', value: Buffer.from(value) };
}

/** Structural equality used by headers-exchange matching and binding identity. */
export function fieldEquals(a: FieldValue, b: FieldValue): boolean {
  const w1 = new Writer(64);
  const w2 = new Writer(64);
  w1.fieldValue(a);
  w2.fieldValue(b);
  return w1.pos === w2.pos && w1.buf.subarray(0, w1.pos).equals(w2.buf.subarray(0, w2.pos));
}

export function encodeTable(t: FieldTable): Buffer {
  const w = new Writer(64);
  w.table(t);
  return w.take();
}
