/**
 * The bookkeeping both segment indexes share: entries live in memory and are appended to their file in
 * bulk (every few hundred, at roll and at close), because recovery can always rebuild the entries after
 * the last one that reached the disk; after a truncation the file is rewritten whole.
 */
import { closeSync, existsSync, ftruncateSync, openSync, writeSync } from 'node:fs';

const FLUSH_EVERY = 512;

export abstract class IndexFile {
  count = 0;
  private persisted = 0;
  /** The file holds entries that are no longer valid (after a truncation): rewrite it whole. */
  private rewrite = false;

  protected constructor(
    readonly path: string,
    private readonly entryBytes: number,
  ) {}

  /** Encodes entry `i` at `at`. */
  protected abstract writeEntry(buf: Buffer, at: number, i: number): void;

  /** After loading the file's valid prefix: what is in memory is on disk, unless the file had more. */
  protected markLoaded(intact: boolean): void {
    this.persisted = this.count;
    if (!intact) this.rewrite = true;
  }

  /** Keeps the first `n` entries. */
  protected keep(n: number): void {
    if (n >= this.count) return;
    this.count = n;
    if (this.persisted > n) {
      this.persisted = n;
      this.rewrite = true;
    }
  }

  /** The next flush replaces the whole file. */
  resetFile(): void {
    this.persisted = 0;
    this.rewrite = true;
  }

  needsFlush(): boolean {
    return this.rewrite || this.count - this.persisted >= FLUSH_EVERY;
  }

  flush(): void {
    // An empty index still gets its file, so that reopening does not mistake it for a lost one.
    if (!this.rewrite && this.persisted === this.count && (this.count > 0 || existsSync(this.path))) return;
    const from = this.rewrite ? 0 : this.persisted;
    const buf = Buffer.allocUnsafe((this.count - from) * this.entryBytes);
    for (let i = from; i < this.count; i++) this.writeEntry(buf, (i - from) * this.entryBytes, i);
    const fd = openSync(this.path, this.rewrite ? 'w' : 'a');
    try {
      if (this.rewrite) ftruncateSync(fd, 0);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    } finally {
      closeSync(fd);
    }
    this.persisted = this.count;
    this.rewrite = false;
  }
}
