/** SQLite schema of the Agenda backend (module 'agenda' in schema_migrations). */
export const AGENDA_MIGRATIONS: readonly string[] = [
  `CREATE TABLE agenda_jobs (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     priority INTEGER NOT NULL DEFAULT 0,
     next_run_at INTEGER,
     type TEXT NOT NULL DEFAULT 'normal',
     locked_at INTEGER,
     last_run_at INTEGER,
     last_finished_at INTEGER,
     failed_at INTEGER,
     fail_count INTEGER,
     fail_reason TEXT,
     repeat_interval TEXT,
     repeat_timezone TEXT,
     repeat_at TEXT,
     data TEXT,
     disabled INTEGER NOT NULL DEFAULT 0,
     progress REAL,
     fork INTEGER NOT NULL DEFAULT 0,
     last_modified_by TEXT,
     debounce_started_at INTEGER,
     start_date INTEGER,
     end_date INTEGER,
     skip_days TEXT
   );
   CREATE UNIQUE INDEX agenda_jobs_single_name ON agenda_jobs (name) WHERE type = 'single';
   CREATE INDEX agenda_jobs_due ON agenda_jobs (name, disabled, next_run_at, priority);
   CREATE INDEX agenda_jobs_locked ON agenda_jobs (name, locked_at);
   CREATE TABLE agenda_notifications (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     origin TEXT NOT NULL,
     kind TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE agenda_logs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     timestamp INTEGER NOT NULL,
     level TEXT NOT NULL,
     event TEXT NOT NULL,
     job_id TEXT,
     job_name TEXT NOT NULL,
     message TEXT NOT NULL,
     duration INTEGER,
     error TEXT,
     fail_count INTEGER,
     retry_delay INTEGER,
     retry_attempt INTEGER,
     agenda_name TEXT,
     meta TEXT
   );
   CREATE INDEX agenda_logs_job ON agenda_logs (job_id, timestamp);
   CREATE INDEX agenda_logs_time ON agenda_logs (timestamp);`,
];
