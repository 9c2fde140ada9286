/** Schema steps of module 'cron' (schema_migrations); step i+1 is version i+1, never edited once shipped. */
export const CRON_MIGRATIONS: readonly string[] = [
  `CREATE TABLE cron_runs (
     key TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     claimed_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     completed_at INTEGER
   );
   CREATE INDEX cron_runs_expires ON cron_runs (expires_at);`,
  `CREATE TABLE broker_schedules (
     name TEXT PRIMARY KEY,
     expression TEXT NOT NULL,
     timezone TEXT,
     target TEXT NOT NULL,
     catch_up TEXT NOT NULL DEFAULT 'skip',
     enabled INTEGER NOT NULL DEFAULT 1,
     last_slot INTEGER,
     last_error TEXT,
     runs INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
];
