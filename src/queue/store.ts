import { realpathSync, mkdirSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDatabase, type Db } from '../store/sqlite.js';
import { migrateJobs } from './schema.js';
import { Waker } from './waker.js';

/**
 * One open job store per data dir per process, shared by every Queue, Worker and QueueEvents
 * of that process: better-sqlite3 is synchronous, so one connection serves them all and its
 * prepared statements are compiled once. Reference-counted; the last release closes it.
 */
export class JobStore {
  readonly db: Db;
  readonly waker: Waker;
  readonly dataDir: string;
  private readonly statements = new Map<string, Database.Statement>();
  private refs = 0;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  private constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.db = openDatabase(dataDir);
    migrateJobs(this.db);
    this.waker = new Waker(dataDir);
    this.begin = this.db.prepare('BEGIN IMMEDIATE');
    this.commit = this.db.prepare('COMMIT');
    this.rollback = this.db.prepare('ROLLBACK');
  }

  /** A cached prepared statement for `sql`. */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction: the write lock is taken up front, so a read
   * followed by a write inside `fn` cannot be overtaken by another process (an attempt is
   * claimed by exactly one worker). Plain BEGIN/COMMIT statements, prepared once, cost less
   * per call than building a better-sqlite3 transaction wrapper for every operation.
   */
  tx<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.begin.run();
    try {
      const r = fn();
      this.commit.run();
      return r;
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
  }

  private static readonly open = new Map<string, JobStore>();

  static acquire(dataDir: string): JobStore {
    mkdirSync(dataDir, { recursive: true });
    const key = realpathSync(dataDir);
    let store = JobStore.open.get(key);
    if (!store) {
      store = new JobStore(key);
      JobStore.open.set(key, store);
    }
    store.refs++;
    return store;
  }

  release(): void {
    if (--this.refs > 0) return;
    JobStore.open.delete(this.dataDir);
    this.waker.close();
    this.db.close();
  }
}
