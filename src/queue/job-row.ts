import type { JobJson, JobsOptions, JobProgress, ParentKeys } from 'bullmq';

/** A `jobs_job` row as better-sqlite3 returns it. */
export interface JobRow {
  rid: number;
  queue: string;
  id: string;
  name: string;
  state: JobStateName;
  seq: number;
  priority: number;
  data: string;
  opts: string;
  timestamp: number;
  delay: number;
  process_at: number | null;
  processed_on: number | null;
  finished_on: number | null;
  attempts_made: number;
  attempts_started: number;
  stalled_counter: number;
  progress: string | null;
  returnvalue: string | null;
  failed_reason: string | null;
  stacktrace: string | null;
  lock_token: string | null;
  locked_until: number | null;
  processed_by: string | null;
  deferred_failure: string | null;
  repeat_job_key: string | null;
  dedup_id: string | null;
  parent: string | null;
  parent_key: string | null;
}

/** Stored states; BullMQ's `prioritized` is `waiting` with priority > 0, `paused` is `waiting` on a paused queue. */
export type JobStateName = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'waiting-children';

/** The shape `Job.fromJSON` consumes: data, stacktrace and returnvalue stay JSON text, as in Redis. */
export function rowToJobJson(row: JobRow): JobJson {
  const json: JobJson = {
    id: row.id,
    name: row.name,
    data: row.data,
    opts: JSON.parse(row.opts) as JobsOptions,
    progress: row.progress === null ? 0 : (JSON.parse(row.progress) as JobProgress),
    attemptsMade: row.attempts_made,
    attemptsStarted: row.attempts_started,
    timestamp: row.timestamp,
    delay: row.delay,
    priority: row.priority,
    failedReason: row.failed_reason ?? '',
    stacktrace: row.stacktrace ?? '[]',
    returnvalue: row.returnvalue ?? 'null',
    stalledCounter: row.stalled_counter,
  };
  if (row.processed_on !== null) json.processedOn = row.processed_on;
  if (row.finished_on !== null) json.finishedOn = row.finished_on;
  if (row.repeat_job_key !== null) json.repeatJobKey = row.repeat_job_key;
  if (row.dedup_id !== null) json.deduplicationId = row.dedup_id;
  if (row.deferred_failure !== null) json.deferredFailure = row.deferred_failure;
  if (row.processed_by !== null) json.processedBy = row.processed_by;
  if (row.parent !== null) json.parent = JSON.parse(row.parent) as ParentKeys;
  if (row.parent_key !== null) json.parentKey = row.parent_key;
  return json;
}
