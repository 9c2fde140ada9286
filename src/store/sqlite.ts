import type BetterSqlite3 from 'better-sqlite3';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError } from '../errors.js';

export type Db = BetterSqlite3.Database;

// Required, not imported: it is the only CommonJS package an idle broker loads, and importing
// CommonJS from ESM loads Node's CJS export lexer and runs it over the package's source.
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

/** The one SQLite file in a data dir; the broker, jobs, agenda and cron share it (WAL, several processes). */
export const DB_FILE = 'railyard.db';
const SQLITE_MAGIC = 'SQLite format 3\0';
/** Written into `PRAGMA application_id` so a foreign SQLite file is recognised and refused. */
export const APPLICATION_ID = 0x52594152; // "RYAR"

export function dbPath(dataDir: string): string {
  return join(dataDir, DB_FILE);
}

function assertSqliteFile(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    if (n === 0) return;
    if (n < 16 || head.toString('latin1') !== SQLITE_MAGIC) {
      throw new DataDirError(path, 'is not an SQLite database (refusing to use or overwrite it)');
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens (creating if needed) the data dir's SQLite file with the settings every user of it needs:
 * WAL so readers never block the writer, a busy timeout so several processes can share it,
 * NORMAL sync (WAL keeps it crash-safe; the broker's own fsync policy governs the log files).
 */
export function openDatabase(dataDir: string, opts: { readonly?: boolean } = {}): Db {
  mkdirSync(dataDir, { recursive: true });
  const path = dbPath(dataDir);
  assertSqliteFile(path);
  // Processes that open a new data dir together race to create the file and switch it to WAL,
  // and SQLite answers the loser of some of those steps "database is locked" at once, without
  // its busy handler (CI: two Agenda worker processes started together, once in several runs).
  // The set-up is idempotent, so it is simply tried again for a while.
  const deadline = Date.now() + OPEN_BUSY_RETRY_MS;
  for (;;) {
    try {
      return openOnce(path, opts.readonly ?? false);
    } catch (err) {
      if (err instanceof DataDirError) throw err;
      if (isBusy(err) && Date.now() < deadline) {
        Atomics.wait(OPEN_RETRY_SLEEP, 0, 0, 10);
        continue;
      }
      throw new DataDirError(path, `cannot open database: ${(err as Error).message}`);
    }
  }
}

/** How long opening retries while another process holds the file mid-creation. */
const OPEN_BUSY_RETRY_MS = 10_000;
const OPEN_RETRY_SLEEP = new Int32Array(new SharedArrayBuffer(4));

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function openOnce(path: string, readonly: boolean): Db {
  const db = new Database(path, { readonly });
  try {
    db.pragma('busy_timeout = 5000');
    if (!readonly) {
      // A new file gets 2 KB pages (an existing one keeps its size). Every commit writes each page
      // it touched to the WAL whole, and the job store's commits touch a few pages each: a job
      // added one by one is ~5 pages, so half the bytes per commit. bench/jobs/run.ts, three
      // alternating pairs against 4 KB: add one by one +12 %, concurrency 1 +4 %, concurrency 50
      // and the retry scenario within noise, addBulk -1 %.
      db.pragma('page_size = 2048');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    }
    const appId = db.pragma('application_id', { simple: true }) as number;
    const userTables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (appId === 0 && userTables.n === 0 && !readonly) {
      db.pragma(`application_id = ${APPLICATION_ID}`);
    } else if (appId !== APPLICATION_ID) {
      throw new DataDirError(path, 'is an SQLite database that does not belong to Railyard (refusing to use it)');
    }
    ensureMigrationTable(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function ensureMigrationTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,
    PRIMARY KEY (module, version))`);
}

/**
 * Applies a module's migrations in order, each once, each in its own transaction.
 * `steps[i]` is version i+1; never edit a shipped step, append a new one.
 */
export function migrate(db: Db, module: string, steps: readonly string[]): void {
  const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations WHERE module = ?').get(module) as { v: number | null }).v ?? 0;
  if (current > steps.length) {
    throw new DataDirError(db.name, `schema of '${module}' is version ${current}, newer than this Railyard knows (${steps.length})`);
  }
  for (let v = current + 1; v <= steps.length; v++) {
    db.transaction(() => {
      // A concurrent process may have applied it between our read and this transaction.
      const done = db.prepare('SELECT 1 FROM schema_migrations WHERE module = ? AND version = ?').get(module, v);
      if (done) return;
      db.exec(steps[v - 1]!);
      db.prepare('INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)').run(module, v, Date.now());
    }).immediate();
  }
}
