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

/**
 * What a claim reads of the row it takes: its rowid, then the columns
 * {@link claimedRowToJobJson} turns into the job handed to BullMQ, in that order. Claims read rows
 * as arrays: better-sqlite3 builds a ~30-key object per row with dynamic keys, which cost about
 * as much as the claim's UPDATE itself.
 */
export const CLAIM_COLUMNS =
  'rid, id, name, data, opts, progress, attempts_made, attempts_started, timestamp, delay, priority, failed_reason, stacktrace, ' +
  'returnvalue, stalled_counter, processed_on, finished_on, repeat_job_key, dedup_id, deferred_failure, processed_by, parent, parent_key';

export function claimedRowId(r: unknown[]): number {
  return r[0] as number;
}

/** The job as the claim leaves it: read before the claim's UPDATE, so that UPDATE's changes are applied here. */
export function claimedRowToJobJson(r: unknown[], claimedAt: number, workerName: string | null): JobJson {
  const row = {
    id: r[1], name: r[2], data: r[3], opts: r[4], progress: r[5], attempts_made: r[6], attempts_started: (r[7] as number) + 1,
    timestamp: r[8], delay: r[9], priority: r[10], failed_reason: r[11], stacktrace: r[12], returnvalue: r[13],
    stalled_counter: r[14], processed_on: claimedAt, finished_on: r[16], repeat_job_key: r[17], dedup_id: r[18],
    deferred_failure: r[19], processed_by: workerName, parent: r[21], parent_key: r[22],
  } as unknown as JobRow;
  return rowToJobJson(row);
}
