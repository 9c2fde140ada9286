import { realpathSync, mkdirSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDatabase, type Db } from '../store/sqlite.js';
import { TraceTexts } from './traces.js';
import { migrateJobs } from './schema.js';
import { Waker } from './waker.js';
import { GroupCommit } from './group-commit.js';
import { Checkpointer } from './checkpointer.js';
import { COUNTER_ROW_ID } from './events.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * How the job store syncs (`RAILYARD_JOBS_SYNC`, read when a data dir's store opens):
 *
 * - `normal` (default): `synchronous = NORMAL`; checkpoints fsync, on a worker thread (see
 *   checkpointer.ts), so a power loss loses recent commits but never the file's consistency.
 *   The default because the file is shared with the broker's metadata, Agenda and cron: an OS
 *   crash must not be able to corrupt all of them, as it must not corrupt Redis's AOF at
 *   `appendfsync everysec`, the setting the jobs bench compares against. The price is that
 *   every WAL byte reaches the disk: ~35 KB per job of the retry scenario (pages of 4 KB), and
 *   the fsyncs slow the event loop (profile.ts retry: ~6,650 jobs/s and ~180 µs CPU/job against
 *   ~7,500 and ~163 at `off`).
 * - `off` (opt-in): SQLite `synchronous = OFF`. A commit is in the OS when it returns, so it
 *   survives the process being killed (kill -9), as at NORMAL; checkpoints do not fsync. After
 *   a power loss or OS crash recent commits may be lost, and a checkpoint caught half on disk
 *   can leave the file inconsistent.
 */
export type JobsSync = 'off' | 'normal';

export function jobsSync(): JobsSync {
  const raw = process.env['RAILYARD_JOBS_SYNC'];
  if (raw === undefined || raw === '' || raw === 'normal') return 'normal';
  if (raw === 'off') return 'off';
  throw new InvalidArgumentError('RAILYARD_JOBS_SYNC', raw, "'normal' or 'off'");
}

/**
 * WAL size (pages) at which a store at `synchronous = OFF` checkpoints after a commit: a WAL
 * that is restarted often is rewritten in place, in pages the OS already holds (the retry
 * scenario at 200 pages against 16000: ~150-157 against ~156-161 µs CPU per job).
 */
const OFF_AUTOCHECKPOINT_PAGES = 200;

/**
 * WAL size at which the store's own connection checkpoints (at `synchronous = NORMAL`), in bytes
 * so that stores with 2 KB pages (new ones) and 4 KB pages (older ones) keep the same bound: 64 MB,
 * ~16000 pages of 4 KB as before. The checkpointer thread keeps up below that; this is the stall
 * on the event loop when it does not (see checkpointer.ts).
 */
const AUTOCHECKPOINT_BYTES = 64 * 1024 * 1024;

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
  /** Every write goes through here: one IMMEDIATE transaction per batch of operations. */
  readonly group: GroupCommit;
  private readonly maxEvents = new Map<string, number>();
  private readonly checkpointer: Checkpointer | undefined;
  private readonly writes = new Map<string, number>();
  /** Bumped by every meta write of this process, which `data_version` does not count. */
  metaWrites = 0;
  private dataVersionStmt: Database.Statement | undefined;
  /** Jobs' stack traces, each distinct text stored once (see TraceTexts). */
  readonly traces = new TraceTexts(this);

  private constructor(dataDir: string) {
    this.dataDir = dataDir;
    const sync = jobsSync();
    this.db = openDatabase(dataDir);
    if (sync === 'off') {
      // Commits are written to the OS either way (WAL commits never fsync at NORMAL); OFF only
      // drops the fsyncs of checkpoints, so a checkpoint is cheap enough to run right here
      // after a commit and the WAL stays ~1 MB, rewritten in place from its start.
      this.db.pragma('synchronous = OFF');
      this.db.pragma(`wal_autocheckpoint = ${OFF_AUTOCHECKPOINT_PAGES}`);
    } else {
      // Checkpoints (and their fsyncs) belong to the checkpointer thread; this connection only
      // steps in if the WAL grows far beyond that thread's pace.
      this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_BYTES / (this.db.pragma('page_size', { simple: true }) as number)}`);
      this.checkpointer = new Checkpointer(this.db.name);
    }
    // 1 MB (500 pages of 2 KB) rather than better-sqlite3's 16 MB. When a b-tree split hands out
    // pages out of order, SQLite swaps their numbers through a temporary one past 1 GB, and the
    // next commit then drops cached pages past the file's end by walking the whole page cache
    // (pcache1TruncateUnsafe), which happens on most commits of 50 workers. That walk costs in
    // proportion to the cache (4 KB pages, c50: 48.0 -> 50.2k jobs/s at 2 MB; six queues at c50
    // at once, whose pages share the cache: 42.9 -> 43.7k). A cache of 200 KB did better on one
    // queue and 15 % worse on six. With 2 KB pages, 1 MB against 2 MB: c50 +2 %, six queues even.
    this.db.pragma('cache_size = -1000');
    migrateJobs(this.db);
    this.waker = new Waker(dataDir);
    this.group = new GroupCommit(
      this.db,
      (q, e, w) => this.afterCommit(q, e, w),
      // Flags cached by operations that were rolled back may reflect undone meta writes, and
      // stack-trace ids they added may come back with other texts.
      () => {
        this.metaWrites++;
        this.traces.forget();
      },
    );
  }

  /** Changes whenever another connection commits (SQLite's `PRAGMA data_version`). */
  dataVersion(): number {
    this.dataVersionStmt ??= this.db.prepare('PRAGMA data_version').pluck();
    return this.dataVersionStmt.get() as number;
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

  /** Keeps about `max` event rows of `queue` (Redis: `XADD MAXLEN ~`), checked every 1000 writes. */
  setMaxEvents(queue: string, max: number): void {
    this.maxEvents.set(queue, max);
  }

  private afterCommit(queue: string, hadEvents: boolean, wakeWorkers: boolean): void {
    this.checkpointer?.dirty();
    if (hadEvents) {
      this.waker.signal(`${queue}\0events`);
      const n = (this.writes.get(queue) ?? 0) + 1;
      this.writes.set(queue, n >= 1000 ? 0 : n);
      if (n >= 1000) void this.group.run(queue, () => this.trimEvents(queue, this.maxEvents.get(queue) ?? 10_000)).catch(() => undefined);
    }
    if (wakeWorkers) this.waker.signal(`${queue}\0jobs`);
  }

  trimEvents(queue: string, maxRows: number): number {
    // Ids are not dense (see schema V3), so the cut is found by position, not by arithmetic.
    return this.stmt(
      `DELETE FROM jobs_event WHERE queue = @q AND id <= (SELECT id FROM jobs_event WHERE queue = @q AND id < ${COUNTER_ROW_ID} ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
    ).run({ q: queue, keep: Math.max(0, Math.floor(maxRows)) }).changes;
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

  /** Drops one reference; the last one closes the store, resolving once every file is closed. */
  async release(): Promise<void> {
    if (--this.refs > 0) return;
    JobStore.open.delete(this.dataDir);
    const stopped = this.checkpointer?.stop();
    this.waker.close();
    this.db.close();
    await stopped;
  }
}
