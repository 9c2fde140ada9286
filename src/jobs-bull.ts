/**
 * `railyard/jobs/bull`: Bull 4's API (`new Queue(name, opts)`, `queue.add`, `queue.process`,
 * `global:` events) on stock BullMQ with Railyard's SQLite backend. Replace
 * `import Queue from 'bull'` with `import { Queue } from 'railyard/jobs/bull'` and pass
 * `{ dataDir }` where Bull took a Redis URL. See src/queue/README.md for what is covered.
 */
export { Queue, type JobCounts, type JobInformation, type DoneCallback, type ProcessCallbackFunction, type ProcessPromiseFunction } from './queue/bull/queue.js';
export { BullJob as Job, type BullJobStatus as JobStatus } from './queue/bull/job.js';
export type { BullJobOptions as JobOptions, BullQueueOptions as QueueOptions, BullRepeatOptions as RepeatOptions, BackoffStrategy } from './queue/bull/options.js';
export { UnsupportedOperationError } from './queue/errors.js';
export { Queue as default } from './queue/bull/queue.js';
