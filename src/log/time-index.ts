/**
 * Time index of one segment: (max timestamp so far: int64, relative offset of the batch that reached
 * it: uint32), big-endian as in Kafka's `.timeindex`. Timestamps strictly increase along the index, so
 * the batches before an entry all have smaller timestamps than the entry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readInt64, writeInt64 } from './batch-format.js';
import { IndexFile } from './index-file.js';

const ENTRY = 12;

export class TimeIndex extends IndexFile {
  private ts = new Float64Array(16);
  private rel = new Uint32Array(16);

  constructor(path: string) {
    super(path, ENTRY);
  }

  protected writeEntry(buf: Buffer, at: number, i: number): void {
    writeInt64(buf, at, this.ts[i]!);
    buf.writeUInt32BE(this.rel[i]!, at + 8);
  }

  static load(path: string): { index: TimeIndex; intact: boolean } {
    const index = new TimeIndex(path);
    if (!existsSync(path)) return { index, intact: false };
    const data = readFileSync(path);
    const n = Math.floor(data.length / ENTRY);
    let intact = data.length % ENTRY === 0;
    let lastTs = -Infinity;
    let lastRel = -1;
    for (let i = 0; i < n; i++) {
      const t = readInt64(data, i * ENTRY);
      const r = data.readUInt32BE(i * ENTRY + 8);
      if (t <= lastTs || r < lastRel) {
        intact = false;
        break;
      }
      index.append(t, r);
      lastTs = t;
      lastRel = r;
    }
    index.markLoaded(intact);
    return { index, intact };
  }

  get lastTimestamp(): number {
    return this.count === 0 ? -1 : this.ts[this.count - 1]!;
  }

  get lastRel(): number {
    return this.count === 0 ? -1 : this.rel[this.count - 1]!;
  }

  /** Adds an entry if `ts` is a new maximum. */
  maybeAppend(ts: number, rel: number): void {
    if (ts <= this.lastTimestamp || ts < 0) return;
    this.append(ts, Math.max(rel, this.lastRel));
  }

  private append(ts: number, rel: number): void {
    if (this.count === this.ts.length) {
      const t = new Float64Array(this.ts.length * 2);
      t.set(this.ts);
      this.ts = t;
      const r = new Uint32Array(this.rel.length * 2);
      r.set(this.rel);
      this.rel = r;
    }
    this.ts[this.count] = ts;
    this.rel[this.count] = rel;
    this.count++;
  }

  /** Relative offset to start scanning from for the first record with timestamp >= ts (0 if none). */
  lookup(ts: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! <= ts) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans < 0 ? 0 : this.rel[ans]!;
  }

  /** Drops entries pointing at relative offsets >= rel. */
  truncateFrom(rel: number): void {
    let n = this.count;
    while (n > 0 && this.rel[n - 1]! >= rel) n--;
    this.keep(n);
  }
}
