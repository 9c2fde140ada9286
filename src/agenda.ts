/**
 * `railyard/agenda`: a storage backend that runs stock Agenda 6 on Railyard's SQLite store.
 *
 *   import { Agenda } from 'agenda';
 *   import { RailyardAgendaBackend } from 'railyard/agenda';
 *   const agenda = new Agenda({ backend: new RailyardAgendaBackend({ dataDir: './.railyard' }) });
 *
 * Moving to Agenda's MongoDB or PostgreSQL backend later changes only that constructor.
 */
export { RailyardAgendaBackend, type RailyardAgendaBackendOptions } from './scheduler/agenda/backend.js';
export { SqliteJobRepository } from './scheduler/agenda/repository.js';
export { SqliteNotificationChannel, type SqliteNotificationChannelOptions } from './scheduler/agenda/notification-channel.js';
export { SqliteJobLogger } from './scheduler/agenda/job-logger.js';
