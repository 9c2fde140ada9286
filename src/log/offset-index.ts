/**
 * Sparse offset index of one segment: (offset relative to the segment base, file position of the batch
 * starting there), both uint32 big-endian as in Kafka's `.index` files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { IndexFile } from './index-file.js';

const ENTRY = 8;

export class OffsetIndex extends IndexFile {
  private rel = new Uint32Array(64);
  private pos = new Uint32Array(64);

  constructor(path: string) {
    super(path, ENTRY);
  }

  protected writeEntry(buf: Buffer, at: number, i: number): void {
    buf.writeUInt32BE(this.rel[i]!, at);
    buf.writeUInt32BE(this.pos[i]!, at + 4);
  }

  /**
   * Loads the file, keeping the longest valid prefix: whole entries, strictly increasing, positions
   * inside the log. Returns the index and whether the file was intact.
   */
  static load(path: string, logSize: number): { index: OffsetIndex; intact: boolean } {
    const index = new OffsetIndex(path);
    if (!existsSync(path)) return { index, intact: logSize === 0 };
    const data = readFileSync(path);
    const n = Math.floor(data.length / ENTRY);
    let intact = data.length % ENTRY === 0;
    let lastRel = -1;
    let lastPos = -1;
    for (let i = 0; i < n; i++) {
      const r = data.readUInt32BE(i * ENTRY);
      const p = data.readUInt32BE(i * ENTRY + 4);
      if (r <= lastRel || p <= lastPos || p >= logSize) {
        intact = false;
        break;
      }
      index.append(r, p);
      lastRel = r;
      lastPos = p;
    }
    index.markLoaded(intact);
    return { index, intact };
  }

  append(rel: number, position: number): void {
    if (this.count === this.rel.length) {
      const r = new Uint32Array(this.rel.length * 2);
      r.set(this.rel);
      this.rel = r;
      const p = new Uint32Array(this.pos.length * 2);
      p.set(this.pos);
      this.pos = p;
    }
    this.rel[this.count] = rel;
    this.pos[this.count] = position;
    this.count++;
  }

  /** Position of the last indexed batch starting at or before `rel`; 0 when none is. */
  lookup(rel: number): number {
    const i = this.floor(rel);
    return i < 0 ? 0 : this.pos[i]!;
  }

  /** Index of the last entry with relative offset <= rel, or -1. */
  floor(rel: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= rel) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  entry(i: number): { rel: number; pos: number } {
    return { rel: this.rel[i]!, pos: this.pos[i]! };
  }

  /** Keeps the first `count` entries. */
  truncate(count: number): void {
    this.keep(count);
  }
}
