import { createRequire } from 'node:module';
import type { JobStore } from './store.js';

// Texts are immutable and ids never reused (AUTOINCREMENT), so an id read once names its text
// for good; a text's row may go, though, with the last job naming it: taking a reference is
// also the check that it is still there.
const TAKE_SQL = 'UPDATE jobs_trace SET refs = refs + 1 WHERE id = ?';
const FIND_SQL = 'SELECT id FROM jobs_trace WHERE hash = ? AND text = ?';
const ADD_SQL = 'INSERT INTO jobs_trace (hash, refs, text) VALUES (?, 1, ?) RETURNING id';
const TEXT_SQL = 'SELECT text FROM jobs_trace WHERE id = ?';
/** Characters of text remembered per process (~750 per failed attempt a text holds); all are dropped past this. */
const MAX_REMEMBERED_CHARS = 1 << 20;

type Crc32 = (input: string) => number;

// Loaded on the first failure, as src/log/crc32c.ts loads its CRC: most stores never need it.
let crc32: Crc32 = (input) => {
  crc32 = (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32;
  return crc32(input);
};

/**
 * Jobs' stack traces, each distinct text kept once in `jobs_trace` (schema V11) and named by its
 * id from the jobs' rows. Jobs that fail the same way (one bug, one service down) share one text,
 * which this process also remembers both ways, so a retry names it by its id and a claim hands
 * it out without reading it. Every call runs inside a write of the store.
 */
export class TraceTexts {
  /** Remembered ids by their text's CRC-32 (V8's own hash of a fresh ~750-character string costs twice that). */
  private readonly byHash = new Map<number, number>();
  private readonly byId = new Map<number, string>();
  /** The text last named, checked first: jobs failing the same way fail one after another. */
  private lastText: string | undefined;
  private lastId = 0;
  private rememberedChars = 0;

  constructor(private readonly store: JobStore) {}

  /**
   * The id of the row holding `text` (BullMQ's JSON array of stack traces), added if none does,
   * with one more reference taken on it; null for null. The same write must then set one job's
   * `trace` to it (the triggers give back the reference of the text it named before).
   */
  idOf(text: string | null): number | null {
    if (text === null) return null;
    let hash: number | undefined;
    let known: number | undefined;
    if (text === this.lastText) known = this.lastId;
    else {
      hash = crc32(text);
      known = this.byHash.get(hash);
      if (known !== undefined && this.byId.get(known) !== text) known = undefined;
    }
    if (known !== undefined && this.store.stmt(TAKE_SQL).run(known).changes === 1) {
      this.lastText = text;
      this.lastId = known;
      return known;
    }
    hash ??= crc32(text);
    const found = this.store.stmt(FIND_SQL).pluck().get(hash, text) as number | undefined;
    if (found !== undefined) this.store.stmt(TAKE_SQL).run(found);
    const id = found ?? (this.store.stmt(ADD_SQL).pluck().get(hash, text) as number);
    this.remember(id, text, hash);
    return id;
  }

  /** The text of row `id` (a job's `trace`); null for null. */
  textOf(id: number | null): string | null {
    if (id === null) return null;
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    const text = this.store.stmt(TEXT_SQL).pluck().get(id) as string | undefined;
    if (text === undefined) return null;
    this.remember(id, text, crc32(text));
    return text;
  }

  /** After a rollback: an id remembered from it may be handed out again with another text. */
  forget(): void {
    this.byHash.clear();
    this.byId.clear();
    this.lastText = undefined;
    this.rememberedChars = 0;
  }

  private remember(id: number, text: string, hash: number): void {
    if (this.rememberedChars + text.length > MAX_REMEMBERED_CHARS) this.forget();
    this.rememberedChars += text.length;
    this.byHash.set(hash, id);
    this.byId.set(id, text);
    this.lastText = text;
    this.lastId = id;
  }
}
