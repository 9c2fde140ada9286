/**
 * `railyard/jobs`: stock BullMQ on Railyard's SQLite job store.
 *
 * ```ts
 * import { Queue, Worker, QueueEvents } from 'bullmq';
 * import { createRailyardBackend } from 'railyard/jobs';
 * const q = new Queue('mail', { connection: { dataDir: '.railyard' } }, createRailyardBackend);
 * ```
 * or process-wide: `setDefaultBackendFactory(createRailyardBackend)`.
 */
export { createRailyardBackend, RailyardQueueBackend, type RailyardConnectionOptions } from './queue/backend.js';
export { UnsupportedOperationError, JobStateError } from './queue/errors.js';
