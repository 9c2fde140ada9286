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
  /** Unused since schema V10: see `stack`. */
  stacktrace: string | null;
  /** The job's stack traces, from `jobs_stack` or `jobs_trace` (read by {@link JOB_ROW_SQL}). */
  stack: string | null;
  /** The `jobs_trace` row of its stack traces when they are shared (schema V11; `jobs_stack` wins). */
  trace: number | null;
  lock_token: string | null;
  locked_until: number | null;
  processed_by: string | null;
  deferred_failure: string | null;
  repeat_job_key: string | null;
  dedup_id: string | null;
  parent: string | null;
  parent_key: string | null;
  /** Room kept for the claim's lease until the job is claimed (schema V9). */
  reserve: Buffer | null;
}

/** Stored states; BullMQ's `prioritized` is `waiting` with priority > 0, `paused` is `waiting` on a paused queue. */
export type JobStateName = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'waiting-children';

/** A `jobs_job` row's own stack traces (schema V10), as an expression over that row. */
const OWN_STACK_OF_ROW = '(SELECT stacktrace FROM jobs_stack WHERE jobs_stack.rid = jobs_job.rid)';
/** Its stack traces, its own or shared (schema V11), as an expression over that row. */
const STACK_OF_ROW = `coalesce(${OWN_STACK_OF_ROW}, (SELECT text FROM jobs_trace WHERE jobs_trace.id = jobs_job.trace))`;

/** A whole job row by (queue, id), with its stack traces, as {@link rowToJobJson} reads it. */
export const JOB_ROW_SQL = `SELECT jobs_job.*, ${STACK_OF_ROW} AS stack FROM jobs_job WHERE queue = ? AND id = ?`;

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
    stalledCounter: row.stalled_counter,
  } as JobJson;
  // No stack trace or return value until there is one, as in a job's Redis hash: Job.fromJSON
  // makes [] and null of them without parsing '[]' and 'null' through its try/catch wrapper.
  if (row.stack !== null) json.stacktrace = row.stack;
  if (row.returnvalue !== null) json.returnvalue = row.returnvalue;
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
 * What a claim reads of the row it picks, as an array (better-sqlite3 builds a ~30-key object per
 * row with dynamic keys, which costs about as much as the claim's UPDATE): the rowid and one JSON
 * array of the fields a job never tried before has. better-sqlite3 costs ~0.2 µs per column read,
 * NULL or not, more than SQLite takes to build the array and V8 to parse it (and `opts` comes
 * back parsed with it). The columns that are NULL or 0 in a job never tried before are not read
 * one by one: the array's last element says whether they all are, and only when they are not is
 * the whole row read ({@link CLAIMED_ROW_COLUMNS}). processed_on and processed_by are the
 * claim's own; their values before the claim close the array, for a prefetch that is put back
 * (see QueueOps.prefetchIn). The failed attempt's reason and its stack traces are in the array
 * (NULL in a fresh job): the job's own (`jobs_stack`, looked up only when there is a reason), and
 * the id of shared ones, whose text TraceTexts mostly has in memory (schema V11). A job retried at once has nothing else set, and is handed out from its pick too. The priority
 * follows the array: rows read ahead may outlast an immediate retry only while the last of them
 * has priority 0 (see QueueOps.retry).
 */
export const CLAIM_PICK_COLUMNS =
  'rid, json_array(id, name, data, json(opts), attempts_made, attempts_started, timestamp, delay, priority, ' +
  `failed_reason, CASE WHEN failed_reason IS NULL THEN NULL ELSE ${OWN_STACK_OF_ROW} END, trace, ` +
  '(progress IS NULL AND returnvalue IS NULL AND stalled_counter = 0 ' +
  'AND finished_on IS NULL AND repeat_job_key IS NULL AND dedup_id IS NULL AND deferred_failure IS NULL ' +
  'AND parent IS NULL AND parent_key IS NULL), processed_on, processed_by), priority';

export function pickedRowId(r: unknown[]): number {
  return r[0] as number;
}

export function pickedPriority(r: unknown[]): number {
  return r[2] as number;
}

/** A plain picked row's processed_on and processed_by before its claim (see {@link CLAIM_PICK_COLUMNS}). */
export function pickedBefore(r: unknown[]): { processedOn: number | null; processedBy: string | null } {
  const f = JSON.parse(r[1] as string) as unknown[];
  return { processedOn: f[13] as number | null, processedBy: f[14] as string | null };
}

/**
 * The job a claim hands out, from its pick and the claim's own fields; undefined unless the row
 * is plain (never tried, or only retried). What {@link rowToJobJson} makes of such a row, built directly: this runs per job.
 */
export function pickedJobJson(r: unknown[], claimedAt: number, workerName: string | null, traceText: (id: number | null) => string | null): JobJson | undefined {
  const f = JSON.parse(r[1] as string) as unknown[];
  if (f[12] !== 1) return undefined;
  const json: JobJson = {
    id: f[0] as string,
    name: f[1] as string,
    data: f[2] as string,
    opts: f[3] as JobsOptions,
    progress: 0,
    attemptsMade: f[4] as number,
    attemptsStarted: (f[5] as number) + 1,
    timestamp: f[6] as number,
    delay: f[7] as number,
    priority: f[8] as number,
    failedReason: (f[9] as string | null) ?? '',
    stalledCounter: 0,
    processedOn: claimedAt,
  } as JobJson;
  // As in rowToJobJson: no stack trace until there is one, no return value.
  const stack = (f[10] as string | null) ?? traceText(f[11] as number | null);
  if (stack !== null) json.stacktrace = stack;
  if (workerName !== null) json.processedBy = workerName;
  return json;
}

/** Every column {@link claimedRowToJobJson} reads, in its order. */
export const CLAIMED_ROW_COLUMNS =
  'id, name, data, opts, progress, attempts_made, attempts_started, timestamp, delay, priority, failed_reason, ' +
  `${STACK_OF_ROW}, ` +
  'returnvalue, stalled_counter, processed_on, finished_on, repeat_job_key, dedup_id, deferred_failure, processed_by, parent, parent_key';

/** A whole row read as {@link CLAIMED_ROW_COLUMNS}. */
export function claimedRowToJobJson(r: unknown[]): JobJson {
  const row = {
    id: r[0], name: r[1], data: r[2], opts: r[3], progress: r[4], attempts_made: r[5], attempts_started: r[6],
    timestamp: r[7], delay: r[8], priority: r[9], failed_reason: r[10], stack: r[11], returnvalue: r[12],
    stalled_counter: r[13], processed_on: r[14], finished_on: r[15], repeat_job_key: r[16], dedup_id: r[17],
    deferred_failure: r[18], processed_by: r[19], parent: r[20], parent_key: r[21],
  } as unknown as JobRow;
  return rowToJobJson(row);
}
