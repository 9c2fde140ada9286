/** Broker schedules persisted in the data dir's SQLite file (table broker_schedules, module 'cron'). */
import { migrate, type Db } from '../../store/sqlite.js';
import { CRON_MIGRATIONS } from '../migrations.js';
import type { CatchUpPolicy, ScheduleDefinition, ScheduleTarget, StoredSchedule } from './types.js';

interface Row {
  name: string;
  expression: string;
  timezone: string | null;
  target: string;
  catch_up: string;
  enabled: number;
  last_slot: number | null;
  last_error: string | null;
  runs: number;
  created_at: number;
  updated_at: number;
}

function fromRow(r: Row): StoredSchedule {
  return {
    name: r.name,
    expression: r.expression,
    timezone: r.timezone,
    target: JSON.parse(r.target) as ScheduleTarget,
    catchUp: r.catch_up as CatchUpPolicy,
    enabled: r.enabled === 1,
    lastSlot: r.last_slot,
    lastError: r.last_error,
    runs: r.runs,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class ScheduleStore {
  constructor(private readonly db: Db) {
    migrate(db, 'cron', CRON_MIGRATIONS);
  }

  /** Inserts or replaces the definition; the run history (last slot, count) survives a replace. */
  put(def: ScheduleDefinition): StoredSchedule {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO broker_schedules (name, expression, timezone, target, catch_up, enabled, created_at, updated_at)
         VALUES (@name, @expression, @timezone, @target, @catchUp, @enabled, @now, @now)
         ON CONFLICT (name) DO UPDATE SET expression = excluded.expression, timezone = excluded.timezone,
           target = excluded.target, catch_up = excluded.catch_up, enabled = excluded.enabled, updated_at = excluded.updated_at`,
      )
      .run({
        name: def.name,
        expression: def.expression,
        timezone: def.timezone ?? null,
        target: JSON.stringify(def.target),
        catchUp: def.catchUp ?? 'skip',
        enabled: def.enabled === false ? 0 : 1,
        now,
      });
    return this.get(def.name)!;
  }

  get(name: string): StoredSchedule | undefined {
    const row = this.db.prepare('SELECT * FROM broker_schedules WHERE name = ?').get(name) as Row | undefined;
    return row && fromRow(row);
  }

  list(): StoredSchedule[] {
    return (this.db.prepare('SELECT * FROM broker_schedules ORDER BY name').all() as Row[]).map(fromRow);
  }

  remove(name: string): boolean {
    return this.db.prepare('DELETE FROM broker_schedules WHERE name = ?').run(name).changes === 1;
  }

  setEnabled(name: string, enabled: boolean): boolean {
    return this.db.prepare('UPDATE broker_schedules SET enabled = ?, updated_at = ? WHERE name = ?').run(enabled ? 1 : 0, Date.now(), name).changes === 1;
  }

  /** Records an emitted slot; never moves last_slot backwards. */
  recordRun(name: string, slot: number, error: string | null): void {
    this.db
      .prepare(
        `UPDATE broker_schedules SET last_slot = max(coalesce(last_slot, 0), ?), last_error = ?, runs = runs + 1, updated_at = ?
         WHERE name = ?`,
      )
      .run(slot, error, Date.now(), name);
  }

  /** A run-now emission: counted and its error kept, but last_slot (catch-up's bookmark) stays. */
  recordManualRun(name: string, error: string | null): void {
    this.db.prepare('UPDATE broker_schedules SET last_error = ?, runs = runs + 1, updated_at = ? WHERE name = ?').run(error, Date.now(), name);
  }
}
