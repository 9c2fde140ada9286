import type { QueueOps } from './queue-ops.js';

/**
 * Bull 4's explicit job locks (`job.takeLock()` / `job.releaseLock()`) on a job row's lease
 * columns, the same `lock_token` / `locked_until` a claim sets. Bull's lock is a key set only if
 * absent; here "absent" is no token or a lapsed lease.
 */

/** Takes the lock for `token` unless another live lock holds the job; false if it does or the job is gone. */
export function takeLock(ops: QueueOps, jobId: string, token: string, duration: number): Promise<boolean> {
  return ops.write(
    (_ev, now) =>
      ops.store
        .stmt(
          `UPDATE jobs_job SET lock_token = ?, locked_until = ?
           WHERE queue = ? AND id = ? AND (lock_token IS NULL OR locked_until IS NULL OR locked_until < ?)`,
        )
        .run(token, now + duration, ops.queue, jobId, now).changes > 0,
  );
}

/**
 * Drops `token`'s lock; false when `token` does not hold it. An active job left without a lock is
 * taken for stalled by the next stalled-jobs check, as in Bull.
 */
export function releaseLock(ops: QueueOps, jobId: string, token: string): Promise<boolean> {
  return ops.write(
    (_ev, now) =>
      ops.store
        .stmt('UPDATE jobs_job SET lock_token = NULL, locked_until = ? WHERE queue = ? AND id = ? AND lock_token = ?')
        .run(now - 1, ops.queue, jobId, token).changes > 0,
  );
}
