/**
 * A RunCoordinator on the data dir's SQLite file: the first process to claim `<task>:<slot>` runs it,
 * every other process sharing the file skips it. Claims are INSERT OR IGNORE on a primary key, which
 * SQLite serialises across processes, so exactly one claim per slot succeeds.
 */
import { randomUUID } from 'node:crypto';
import { migrate, openDatabase, type Db } from '../store/sqlite.js';
import type { Statement } from 'better-sqlite3';
import type { RunCoordinator } from './cron-types.js';
import { CRON_MIGRATIONS } from './migrations.js';

/** Claims are kept this long past their lease so a slow process asking late still sees the claim. */
const RETENTION_MS = 24 * 3600_000;

export interface SqliteRunCoordinatorOptions {
  /** Railyard data dir (its `railyard.db` is shared with the broker). */
  dataDir: string;
  /** Identifies this process in claims; defaults to a random id. */
  owner?: string;
}

export class SqliteRunCoordinator implements RunCoordinator {
  readonly owner: string;
  private readonly db: Db;
  private readonly claim: Statement<[string, string, number, number]>;
  private readonly complete: Statement<[number, string, string]>;
  private readonly prune: Statement<[number]>;
  private lastPrune = 0;

  constructor(opts: SqliteRunCoordinatorOptions) {
    this.owner = opts.owner ?? `${process.pid}-${randomUUID()}`;
    this.db = openDatabase(opts.dataDir);
    migrate(this.db, 'cron', CRON_MIGRATIONS);
    this.claim = this.db.prepare<[string, string, number, number]>('INSERT OR IGNORE INTO cron_runs (key, owner, claimed_at, expires_at) VALUES (?, ?, ?, ?)');
    this.complete = this.db.prepare<[number, string, string]>('UPDATE cron_runs SET completed_at = ? WHERE key = ? AND owner = ?');
    this.prune = this.db.prepare<[number]>('DELETE FROM cron_runs WHERE expires_at < ?');
  }

  shouldRun(key: string, ttlMs: number): boolean {
    const now = Date.now();
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      this.prune.run(now - RETENTION_MS);
    }
    return this.claim.run(key, this.owner, now, now + ttlMs).changes === 1;
  }

  onComplete(key: string): void {
    this.complete.run(Date.now(), key, this.owner);
  }

  /** Who claimed a slot, for dashboards and tests. */
  claimOf(key: string): { owner: string; claimedAt: number; completedAt: number | null } | undefined {
    const row = this.db.prepare('SELECT owner, claimed_at, completed_at FROM cron_runs WHERE key = ?').get(key) as
      | { owner: string; claimed_at: number; completed_at: number | null }
      | undefined;
    return row && { owner: row.owner, claimedAt: row.claimed_at, completedAt: row.completed_at };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
