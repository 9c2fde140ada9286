import { createRequire } from 'node:module';
import type { JobStore } from './store.js';

// Texts are immutable and ids never reused (AUTOINCREMENT), so an id read once names its text
// for good; a text's row may go, though, with the last job naming it: taking a reference is
// also the check that it is still there.
const TAKE_SQL = 'UPDATE jobs_trace SET refs = refs + 1 WHERE id = ?';
const ADD_SQL = 'INSERT INTO jobs_trace (refs, text) VALUES (1, ?)';
const TEXT_SQL = 'SELECT text FROM jobs_trace WHERE id = ?';
/** Hashes of texts seen lately that a process keeps; all are dropped past this. */
const MAX_SEEN = 4096;
/** Characters of shared texts a process keeps (~750 per failed attempt a text holds); all are dropped past this. */
const MAX_SHARED_CHARS = 1 << 20;

type Crc32 = (input: string) => number;

// Loaded on the first failure, as src/log/crc32c.ts loads its CRC: most stores never need it.
let crc32: Crc32 = (input) => {
  crc32 = (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32;
  return crc32(input);
};

/** What {@link TraceTexts.idOf} answers for a text to keep beside the job's row, in `jobs_stack`. */
export const OWN_TEXT = 0;

/**
 * Stack traces that repeat, kept once in `jobs_trace` (schema V11) and named by their id from
 * the rows of every job that failed that way (one bug, one service down). A process keeps the
 * hash of each text it saw lately: the first time a text comes it stays beside its job's row
 * (`jobs_stack`, as before V11), and from its second time it is shared. A shared text is also
 * kept in memory, so later failures name it by its id and claims hand it out without reading
 * it. A text seen once (an error message naming its job, say) costs what it did before, plus
 * its hash. Every call runs inside a write of the store.
 */
export class TraceTexts {
  /** CRC-32s of texts seen lately (V8's own hash of a fresh ~750-character string costs twice that). */
  private readonly seen = new Set<number>();
  /** Shared texts in memory: ids by CRC-32, texts by id. */
  private readonly sharedIds = new Map<number, number>();
  private readonly shared = new Map<number, string>();
  private sharedChars = 0;
  /** The text last shared, checked first: jobs failing the same way fail one after another. */
  private lastText: string | undefined;
  private lastId = 0;

  constructor(private readonly store: JobStore) {}

  /**
   * Where `text` (BullMQ's JSON array of stack traces) goes: null for null (the job keeps what it
   * has), {@link OWN_TEXT} for beside the job's row, else the id of the shared row holding it,
   * with one more reference taken on it; the same write must then set one job's `trace` to it
   * (the triggers give back the reference of the text it named before).
   */
  idOf(text: string | null): number | null {
    if (text === null) return null;
    if (text === this.lastText && this.take(this.lastId)) return this.lastId;
    const hash = crc32(text);
    const known = this.sharedIds.get(hash);
    if (known !== undefined && this.shared.get(known) === text && this.take(known)) {
      this.lastText = text;
      this.lastId = known;
      return known;
    }
    if (!this.seen.has(hash)) {
      if (this.seen.size >= MAX_SEEN) this.seen.clear();
      this.seen.add(hash);
      return OWN_TEXT;
    }
    const id = Number(this.store.stmt(ADD_SQL).run(text).lastInsertRowid);
    this.share(hash, id, text);
    return id;
  }

  /** The text of shared row `id` (a job's `trace`); null for null. */
  textOf(id: number | null): string | null {
    if (id === null) return null;
    return this.shared.get(id) ?? ((this.store.stmt(TEXT_SQL).pluck().get(id) as string | undefined) ?? null);
  }

  /** After a rollback: an id remembered from it may be handed out again with another text. */
  forget(): void {
    this.seen.clear();
    this.sharedIds.clear();
    this.shared.clear();
    this.sharedChars = 0;
    this.lastText = undefined;
  }

  private take(id: number): boolean {
    return this.store.stmt(TAKE_SQL).run(id).changes === 1;
  }

  private share(hash: number, id: number, text: string): void {
    if (this.sharedChars + text.length > MAX_SHARED_CHARS) {
      this.sharedIds.clear();
      this.shared.clear();
      this.sharedChars = 0;
    }
    this.sharedIds.set(hash, id);
    this.shared.set(id, text);
    this.sharedChars += text.length;
    this.lastText = text;
    this.lastId = id;
  }
}
