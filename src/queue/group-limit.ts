import type { QueueOps } from './queue-ops.js';

/**
 * Bull 4's `limiter.groupKey`: a fixed-window rate limit per group (the value of the job data's
 * `groupKey` field) instead of per queue, one `jobs_group_limit` row per (queue, group), shared by
 * every process. Takes a slot for one job of `group`: 0 when it may run now, else the ms until
 * the group's window ends (nothing is counted then).
 */
let resets = 0;

export function takeGroupSlot(ops: QueueOps, group: string, max: number, duration: number): Promise<number> {
  return ops.write((_ev, now) => {
    const row = ops.store
      .stmt('SELECT count, until FROM jobs_group_limit WHERE queue = ? AND grp = ?')
      .get(ops.queue, group) as { count: number; until: number } | undefined;
    if (!row || row.until <= now) {
      // Every so often, drop the lapsed windows of other groups, so one row per group ever seen
      // does not pile up.
      if (++resets % 1000 === 0) ops.store.stmt('DELETE FROM jobs_group_limit WHERE queue = ? AND until <= ?').run(ops.queue, now);
      ops.store
        .stmt('INSERT OR REPLACE INTO jobs_group_limit (queue, grp, count, until) VALUES (?, ?, 1, ?)')
        .run(ops.queue, group, now + duration);
      return 0;
    }
    if (row.count < max) {
      ops.store.stmt('UPDATE jobs_group_limit SET count = count + 1 WHERE queue = ? AND grp = ?').run(ops.queue, group);
      return 0;
    }
    return row.until - now;
  });
}
