import type { JobProgress, Queue, Worker } from 'bullmq';
import type { RailyardConnectionOptions, RailyardQueueBackend } from '../../src/jobs.js';

/**
 * BullMQ's classes as `createRailyardBackend` builds them. Their default type arguments are
 * Redis's backend and connection options, which a Railyard-backed instance does not have, and
 * the backend comes after the job type arguments, so these spell those out once.
 */
export type RailyardQueue<Data = unknown, Result = unknown> = Queue<Data, Result, string, Data, Result, string, RailyardQueueBackend, RailyardConnectionOptions>;
export type RailyardWorker<Data = unknown, Result = unknown> = Worker<Data, Result, string, RailyardQueueBackend, JobProgress, RailyardConnectionOptions>;
