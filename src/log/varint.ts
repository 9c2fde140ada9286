/**
 * Zigzag varints as Kafka record fields use them. Plain numbers instead of BigInt: every value a record
 * carries (lengths, deltas, millisecond timestamps) fits in 2^53, and number arithmetic is much faster.
 */

export function zigzagSize(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

/** Writes `n` zigzag-encoded at `pos`; returns the position after it. */
export function writeZigzag(buf: Buffer, pos: number, n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

export class VarintReader {
  pos: number;
  constructor(readonly buf: Buffer, pos = 0, readonly end = buf.length) {
    this.pos = pos;
  }

  zigzag(): number {
    let z = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('varint runs past the end of the record');
      const b = this.buf[this.pos++]!;
      z += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      mul *= 128;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  bytes(len: number): Buffer {
    if (len < 0 || this.pos + len > this.end) throw new RangeError('field runs past the end of the record');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}
