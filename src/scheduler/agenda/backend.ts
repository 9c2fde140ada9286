/**
 * `new Agenda({ backend: new RailyardAgendaBackend({ dataDir }) })`: stock Agenda 6 on the Railyard
 * data dir's SQLite file, with cross-process notifications and a persistent job log.
 */
import type { AgendaBackend } from 'agenda';
import { migrate, openDatabase, type Db } from '../../store/sqlite.js';
import { AGENDA_MIGRATIONS } from './schema.js';
import { SqliteJobRepository } from './repository.js';
import { SqliteNotificationChannel } from './notification-channel.js';
import { SqliteJobLogger } from './job-logger.js';
import { InvalidArgumentError } from '../../errors.js';

export interface RailyardAgendaBackendOptions {
  /** Railyard data dir; its `railyard.db` is shared with the broker and other processes. */
  dataDir: string;
  /** Cross-process wake-ups through SQLite (default true); false leaves Agenda to its processEvery polling. */
  notifications?: boolean;
  /** How often the notification channel looks for other processes' saves, ms (default 10). */
  pollIntervalMs?: number;
}

export class RailyardAgendaBackend implements AgendaBackend {
  readonly name = 'Railyard (SQLite)';
  readonly ownsConnection = true;
  readonly repository: SqliteJobRepository;
  readonly notificationChannel: SqliteNotificationChannel | undefined;
  readonly logger: SqliteJobLogger;
  private readonly dataDir: string;
  private db: Db | undefined;

  constructor(options: RailyardAgendaBackendOptions) {
    if (!options || typeof options.dataDir !== 'string' || options.dataDir === '') {
      throw new InvalidArgumentError('options.dataDir', options?.dataDir, 'a directory path');
    }
    this.dataDir = options.dataDir;
    const db = (): Db => this.open();
    this.repository = new SqliteJobRepository(db);
    this.notificationChannel = options.notifications === false ? undefined : new SqliteNotificationChannel(db, { pollIntervalMs: options.pollIntervalMs });
    this.logger = new SqliteJobLogger(db);
  }

  /** Opened on first use (Agenda may query before start()) and again after disconnect(). */
  private open(): Db {
    if (this.db?.open) return this.db;
    const db = openDatabase(this.dataDir);
    migrate(db, 'agenda', AGENDA_MIGRATIONS);
    this.db = db;
    return db;
  }

  async connect(): Promise<void> {
    this.open();
  }

  async disconnect(): Promise<void> {
    await this.notificationChannel?.disconnect();
    if (this.db?.open) this.db.close();
    this.db = undefined;
  }
}
