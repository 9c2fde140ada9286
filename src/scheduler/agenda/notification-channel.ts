/**
 * Agenda's NotificationChannel across processes sharing one SQLite file.
 *
 * publish() inserts a row and delivers to this process's subscribers at once. Other processes watch
 * `PRAGMA data_version` (which changes only when another connection commits) every few milliseconds
 * and read rows newer than the last they saw, so a job saved in one process wakes an idle Agenda in
 * another within one poll interval, with no broker, socket or extra file.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type {
  JobNotification,
  JobStateNotification,
  NotificationChannel,
  NotificationChannelState,
  NotificationHandler,
  StateNotificationHandler,
} from 'agenda';
import type { Db } from '../../store/sqlite.js';

/** Rows older than this are gone; a process that is asleep longer catches up through Agenda's own polling. */
const RETENTION_MS = 60_000;
const DATE_KEYS = new Set(['nextRunAt', 'timestamp', 'retryAt', 'lastRunAt', 'lastFinishedAt']);

export interface SqliteNotificationChannelOptions {
  /** How often to look for other processes' notifications, ms (default 10). */
  pollIntervalMs?: number;
}

export class SqliteNotificationChannel extends EventEmitter implements NotificationChannel {
  private _state: NotificationChannelState = 'disconnected';
  private readonly origin = randomUUID();
  private readonly handlers = new Set<NotificationHandler>();
  private readonly stateHandlers = new Set<StateNotificationHandler>();
  private readonly pollIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lastSeq = 0;
  private dataVersion = -1;
  private lastPrune = 0;

  constructor(private readonly db: () => Db, opts: SqliteNotificationChannelOptions = {}) {
    super();
    this.pollIntervalMs = opts.pollIntervalMs ?? 10;
  }

  get state(): NotificationChannelState {
    return this._state;
  }

  private setState(state: NotificationChannelState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit('stateChange', state);
  }

  async connect(): Promise<void> {
    if (this._state === 'connected') return;
    const db = this.db();
    this.lastSeq = (db.prepare('SELECT coalesce(max(seq), 0) AS s FROM agenda_notifications').get() as { s: number }).s;
    this.dataVersion = db.pragma('data_version', { simple: true }) as number;
    this.timer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.timer.unref();
    this.setState('connected');
  }

  async disconnect(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.handlers.clear();
    this.stateHandlers.clear();
    this.setState('disconnected');
  }

  subscribe(handler: NotificationHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  subscribeState(handler: StateNotificationHandler): () => void {
    this.stateHandlers.add(handler);
    return () => this.stateHandlers.delete(handler);
  }

  async publish(notification: JobNotification): Promise<void> {
    this.write('job', notification);
    await this.deliver('job', notification);
  }

  async publishState(notification: JobStateNotification): Promise<void> {
    this.write('state', notification);
    await this.deliver('state', notification);
  }

  private write(kind: string, payload: object): void {
    if (this._state !== 'connected') throw new Error('Cannot publish: channel not connected');
    const db = this.db();
    const now = Date.now();
    db.prepare('INSERT INTO agenda_notifications (origin, kind, payload, created_at) VALUES (?, ?, ?, ?)').run(this.origin, kind, JSON.stringify(payload), now);
    if (now - this.lastPrune > RETENTION_MS) {
      this.lastPrune = now;
      db.prepare('DELETE FROM agenda_notifications WHERE created_at < ?').run(now - RETENTION_MS);
    }
  }

  private async deliver(kind: string, payload: JobNotification | JobStateNotification): Promise<void> {
    const handlers = kind === 'job' ? [...this.handlers] : [...this.stateHandlers];
    for (const h of handlers) {
      try {
        await (h as (n: typeof payload) => unknown)(payload);
      } catch (err) {
        if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private poll(): void {
    let db: Db;
    try {
      db = this.db();
      const version = db.pragma('data_version', { simple: true }) as number;
      if (version === this.dataVersion) return;
      this.dataVersion = version;
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const rows = db
      .prepare('SELECT seq, kind, payload FROM agenda_notifications WHERE seq > ? AND origin != ? ORDER BY seq')
      .all(this.lastSeq, this.origin) as { seq: number; kind: string; payload: string }[];
    for (const row of rows) {
      this.lastSeq = Math.max(this.lastSeq, row.seq);
      const payload = JSON.parse(row.payload, (k, v: unknown) => (DATE_KEYS.has(k) && typeof v === 'string' ? new Date(v) : v)) as
        | JobNotification
        | JobStateNotification;
      void this.deliver(row.kind, payload);
    }
  }
}
