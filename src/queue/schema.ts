import type { Db } from '../store/sqlite.js';
import { migrate } from '../store/sqlite.js';
import { COUNTER_ROW_ID } from './events.js';

/**
 * The job store's schema. One row per job whatever its state, so every state change is one
 * UPDATE of one row; partial indexes keep each state's scan (claim order, due time, finish
 * time, lease expiry) cheap without indexing rows that are not in that state.
 *
 * `seq` orders jobs inside one priority: FIFO takes increasing numbers, LIFO (and stalled jobs,
 * which BullMQ puts back at the head of the queue) take negative ones.
 */
const V1 = `
CREATE TABLE jobs_queue (
  queue       TEXT PRIMARY KEY,
  id_counter  INTEGER NOT NULL DEFAULT 0,
  seq_counter INTEGER NOT NULL DEFAULT 0,
  -- rate limiter window (Redis: the 'limiter' key with its PTTL)
  rl_count    INTEGER NOT NULL DEFAULT 0,
  rl_until    INTEGER NOT NULL DEFAULT 0,
  -- last stalled-jobs sweep, so N workers sweep once per stalledInterval, not N times
  stalled_check INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE jobs_job (
  rid              INTEGER PRIMARY KEY,
  queue            TEXT NOT NULL,
  id               TEXT NOT NULL,
  name             TEXT NOT NULL,
  state            TEXT NOT NULL,
  seq              INTEGER NOT NULL,
  priority         INTEGER NOT NULL DEFAULT 0,
  data             TEXT NOT NULL,
  opts             TEXT NOT NULL,
  timestamp        INTEGER NOT NULL,
  delay            INTEGER NOT NULL DEFAULT 0,
  process_at       INTEGER,
  processed_on     INTEGER,
  finished_on      INTEGER,
  attempts_made    INTEGER NOT NULL DEFAULT 0,
  attempts_started INTEGER NOT NULL DEFAULT 0,
  stalled_counter  INTEGER NOT NULL DEFAULT 0,
  progress         TEXT,
  returnvalue      TEXT,
  failed_reason    TEXT,
  stacktrace       TEXT,
  lock_token       TEXT,
  locked_until     INTEGER,
  processed_by     TEXT,
  deferred_failure TEXT,
  repeat_job_key   TEXT,
  dedup_id         TEXT,
  UNIQUE (queue, id)
);
CREATE INDEX jobs_job_waiting  ON jobs_job (queue, priority, seq) WHERE state = 'waiting';
CREATE INDEX jobs_job_delayed  ON jobs_job (queue, process_at)    WHERE state = 'delayed';
CREATE INDEX jobs_job_active   ON jobs_job (queue, locked_until)  WHERE state = 'active';
CREATE INDEX jobs_job_finished ON jobs_job (queue, state, finished_on) WHERE state IN ('completed', 'failed');

CREATE TABLE jobs_log (
  queue  TEXT NOT NULL,
  job_id TEXT NOT NULL,
  idx    INTEGER NOT NULL,
  row    TEXT NOT NULL,
  PRIMARY KEY (queue, job_id, idx)
) WITHOUT ROWID;

-- A job's logs go with it however it is deleted (remove, clean, retention, obliterate).
CREATE TRIGGER jobs_job_delete_logs AFTER DELETE ON jobs_job BEGIN
  DELETE FROM jobs_log WHERE queue = old.queue AND job_id = old.id;
END;

CREATE TABLE jobs_meta (
  queue TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (queue, field)
) WITHOUT ROWID;

-- One row per state-changing operation, holding all the events it emitted (an addBulk of
-- 1000 jobs is one row), so event bookkeeping costs one INSERT per transaction. Consumers
-- address single events as "<id>-<index>".
CREATE TABLE jobs_event (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  queue  TEXT NOT NULL,
  events TEXT NOT NULL
);
CREATE INDEX jobs_event_queue ON jobs_event (queue, id);

CREATE TABLE jobs_dedup (
  queue     TEXT NOT NULL,
  dedup_id  TEXT NOT NULL,
  job_id    TEXT NOT NULL,
  expire_at INTEGER,
  PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;

CREATE TABLE jobs_metrics (
  queue      TEXT NOT NULL,
  kind       TEXT NOT NULL,
  count      INTEGER NOT NULL DEFAULT 0,
  prev_ts    INTEGER NOT NULL DEFAULT 0,
  prev_count INTEGER NOT NULL DEFAULT 0,
  points     TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (queue, kind)
) WITHOUT ROWID;

CREATE TABLE jobs_scheduler (
  queue         TEXT NOT NULL,
  scheduler_id  TEXT NOT NULL,
  next_millis   INTEGER,
  fields        TEXT NOT NULL,
  PRIMARY KEY (queue, scheduler_id)
) WITHOUT ROWID;
`;

/**
 * Flows: a child names its parent (`parent` is BullMQ's JSON: id, queueKey and the
 * fail/ignore/remove/continue-on-failure flags); `jobs_dep` holds one row per parent→child link
 * with its status (pending, processed with the child's return value, ignored or failed with the
 * child's failure reason), which is what the dependency getters read.
 */
const V2 = `
ALTER TABLE jobs_job ADD COLUMN parent TEXT;
ALTER TABLE jobs_job ADD COLUMN parent_key TEXT;
CREATE TABLE jobs_dep (
  parent_queue TEXT NOT NULL,
  parent_id    TEXT NOT NULL,
  child_key    TEXT NOT NULL,
  child_queue  TEXT NOT NULL,
  child_id     TEXT NOT NULL,
  status       TEXT NOT NULL,
  value        TEXT,
  PRIMARY KEY (parent_queue, parent_id, child_key)
) WITHOUT ROWID;
CREATE INDEX jobs_dep_child ON jobs_dep (child_queue, child_id);
`;

/**
 * Events keyed by (queue, id) in one b-tree, without AUTOINCREMENT: the V1 table cost every
 * operation three written pages (table, queue index, sqlite_sequence) for its event row; this
 * costs one. Ids are per queue: at least the wall clock in microseconds and more than the
 * queue's last id (see GroupCommit), so they keep increasing even after a trim or obliterate
 * removed every row, as Redis stream ids do. Old rows keep their (smaller) ids.
 */
const V3 = `
CREATE TABLE jobs_event_v3 (
  queue  TEXT NOT NULL,
  id     INTEGER NOT NULL,
  events TEXT NOT NULL,
  PRIMARY KEY (queue, id)
) WITHOUT ROWID;
INSERT INTO jobs_event_v3 (queue, id, events) SELECT queue, id, events FROM jobs_event;
DROP TABLE jobs_event;
ALTER TABLE jobs_event_v3 RENAME TO jobs_event;
`;

/**
 * A queue's id and seq counters move from `jobs_queue` into a counter row of `jobs_event`, keyed
 * (queue, COUNTER_ROW_ID), the largest id, so it sits right after the queue's newest event, in
 * the b-tree page an add writes anyway for its event row: an add then writes one page fewer
 * (its commit cost is mostly pages written to the WAL). Every event reader skips that row.
 * The old `jobs_queue` columns stay, unused.
 */
const V4 = `
ALTER TABLE jobs_event ADD COLUMN id_counter INTEGER;
ALTER TABLE jobs_event ADD COLUMN seq_counter INTEGER;
INSERT INTO jobs_event (queue, id, events, id_counter, seq_counter)
  SELECT queue, ${COUNTER_ROW_ID}, '', id_counter, seq_counter FROM jobs_queue WHERE id_counter > 0 OR seq_counter > 0;
`;

/**
 * deduplication.keepLastIfActive: the job added while the id's job is active, held back (one per
 * id, the latest wins) until that job finishes, as BullMQ's JSON job.
 */
const V5 = `
CREATE TABLE jobs_dedup_next (
  queue    TEXT NOT NULL,
  dedup_id TEXT NOT NULL,
  job_id   TEXT NOT NULL,
  job      TEXT NOT NULL,
  PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
`;

/**
 * Workers and QueueEvents listeners of every process (see WorkerRegistry): one row per client,
 * listed while `expires_at` (renewed by its process's heartbeat) is in the future.
 */
const V6 = `
CREATE TABLE jobs_client (
  id         INTEGER PRIMARY KEY,
  queue      TEXT NOT NULL,
  name       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  host       TEXT NOT NULL,
  started    INTEGER NOT NULL,
  heartbeat  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX jobs_client_queue ON jobs_client (queue, expires_at);
`;

/** Bull's `limiter.groupKey`: one fixed rate-limit window per (queue, group) (see group-limit.ts). */
const V7 = `
CREATE TABLE jobs_group_limit (
  queue TEXT NOT NULL,
  grp   TEXT NOT NULL,
  count INTEGER NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (queue, grp)
) WITHOUT ROWID;
`;

/**
 * One index for waiting and active jobs instead of one each. A claim moves a row from the head
 * of the waiting line into the active set; with two indexes that is two leaf pages written (one
 * in each), with one index keyed (queue, state, priority, seq) the 'active' entries of a queue
 * sort right before its 'waiting' ones, and the claimed job's new entry lands next to the head
 * it left, on the same leaf: the lone claim commit that follows each failed attempt in BullMQ's
 * Worker writes ~1 page fewer. Still indexed (EXPLAIN QUERY PLAN):
 * - claim order: `state = 'waiting' ORDER BY priority, seq` is the index's order;
 * - counts and existence probes of either state: a prefix of the index;
 * - lease expiry (`state = 'active' AND locked_until < ?`): walks the queue's active entries,
 *   at most the workers' total concurrency, reading `locked_until` from the index; the jobs
 *   found are the only rows read.
 * The partial index's WHERE is an OR of equalities, which SQLite matches against a query's
 * `state = 'waiting'` or `state = 'active'` term (an IN list would not be matched).
 */
const V8 = `
DROP INDEX jobs_job_waiting;
DROP INDEX jobs_job_active;
CREATE INDEX jobs_job_ready ON jobs_job (queue, state, priority, seq, locked_until) WHERE state = 'waiting' OR state = 'active';
`;

/**
 * Room a job's row keeps for its claim. A claim writes the lease into the row (`lock_token`, a
 * BullMQ token of ~40 characters, `locked_until`, `processed_on`: ~52 bytes more), and rows are
 * added packed, one after another, so a page of freshly added rows has no room for that: every
 * few claims split a page, which writes it, a new page, its parent and the file header. A new
 * row carries `reserve`, a zeroed blob of {@link CLAIM_RESERVE_BYTES}, which the claim sets to
 * NULL as it writes the lease, so the row keeps its size and its page. run.ts with 2 KB pages,
 * four alternating rounds: concurrency 50 +5 %, the retry scenario +10 %, concurrency 1 +2 %,
 * add one by one -1 %, addBulk -15 % (more bytes per row). A job waiting or delayed takes 56 bytes
 * more on disk until it is claimed. Rows added before V9 have none; they claim as before.
 */
const V9 = `ALTER TABLE jobs_job ADD COLUMN reserve BLOB;`;

/** Bytes of `reserve` a job is added with (see V9). */
export const CLAIM_RESERVE_BYTES = 56;

/**
 * A job's stack traces (BullMQ's JSON array, one entry per failed attempt, ~750 bytes each) move
 * beside its row, keyed by rowid. A job retried at once is claimed and finished again after its
 * failure; with its stack trace in it, its row is ~900 bytes, so each of those writes filled a
 * page with few rows (2 KB pages: two). Beside it, the row stays ~130 bytes. Retry scenario
 * (profile.ts retry 20000, four alternating pairs): +5 %. A claim looks the stack trace up only
 * for a job with a failure (`failed_reason` set). `jobs_job.stacktrace` stays, unused.
 */
const V10 = `
CREATE TABLE jobs_stack (
  rid        INTEGER PRIMARY KEY,
  stacktrace TEXT NOT NULL
);
INSERT INTO jobs_stack (rid, stacktrace) SELECT rid, stacktrace FROM jobs_job WHERE stacktrace IS NOT NULL;
UPDATE jobs_job SET stacktrace = NULL WHERE stacktrace IS NOT NULL;
CREATE TRIGGER jobs_job_delete_stack AFTER DELETE ON jobs_job BEGIN
  DELETE FROM jobs_stack WHERE rid = old.rid;
END;
`;

/**
 * Stack traces that repeat are kept once (see TraceTexts): jobs that fail the same way (one bug,
 * one service down) each wrote the same ~750 bytes per attempt beside their row (V10), and each
 * claim of such a job read them back. A text a process has seen before goes to `jobs_trace`,
 * which the rows of every job failing that way name by `trace`; a text seen once stays beside
 * its row in `jobs_stack`, as before, and wins over `trace` when a row has both. `refs` counts
 * the rows naming a text: the writer setting `trace` takes one (TraceTexts.idOf), the triggers
 * give back the one of the text a row named before, or when the row goes, and drop a text with
 * its last reference. AUTOINCREMENT: an id is never reused, so a process may remember what it
 * names. Figures: src/queue/README.md.
 */
const V11 = `
ALTER TABLE jobs_job ADD COLUMN trace INTEGER;
CREATE TABLE jobs_trace (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  refs INTEGER NOT NULL,
  text TEXT NOT NULL
);
CREATE TRIGGER jobs_job_trace_delete AFTER DELETE ON jobs_job WHEN old.trace IS NOT NULL BEGIN
  UPDATE jobs_trace SET refs = refs - 1 WHERE id = old.trace;
  DELETE FROM jobs_trace WHERE id = old.trace AND refs <= 0;
END;
CREATE TRIGGER jobs_job_trace_update AFTER UPDATE OF trace ON jobs_job WHEN old.trace IS NOT NULL BEGIN
  UPDATE jobs_trace SET refs = refs - 1 WHERE id = old.trace;
  DELETE FROM jobs_trace WHERE id = old.trace AND refs <= 0;
END;
`;

export const JOBS_MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

export function migrateJobs(db: Db): void {
  migrate(db, 'jobs', JOBS_MIGRATIONS);
}
