import { ErrorCode, type JobsOptions } from 'bullmq';
import type { JobStore } from './store.js';
import { COUNTER_ROW_ID, type EventBatch } from './events.js';
import { finishedError } from './errors.js';

// Built once: `store.stmt` looks statements up by their text.
const BUMP_SEQ_SQL = `INSERT INTO jobs_event (queue, id, events, id_counter, seq_counter) VALUES (?, ${COUNTER_ROW_ID}, '', 0, 1)
         ON CONFLICT (queue, id) DO UPDATE SET seq_counter = seq_counter + 1 RETURNING seq_counter`;

/** BullMQ's parent reference plus the child's on-failure flags (failParentOnFailure, ...). */
export interface ParentRef {
  id: string;
  queueKey: string;
  fpof?: boolean;
  cpof?: boolean;
  idof?: boolean;
  rdof?: boolean;
}

export type DepStatus = 'pending' | 'processed' | 'ignored' | 'failed';

/**
 * Parent/child links of flows, across queues. Every function runs inside the caller's
 * transaction; moving a parent records its events under the parent's queue.
 */
export class FlowOps {
  constructor(private readonly store: JobStore) {}

  /** Links a new child to its parent (which must exist: roots are inserted first). */
  link(childQueue: string, childId: string, parent: ParentRef): void {
    const exists = this.store.stmt('SELECT 1 FROM jobs_job WHERE queue = ? AND id = ?').get(parent.queueKey, parent.id);
    if (!exists) {
      throw finishedError({ code: ErrorCode.ParentJobNotExist, parentKey: `${parent.queueKey}:${parent.id}`, command: 'addJob' });
    }
    this.store
      .stmt("INSERT OR IGNORE INTO jobs_dep (parent_queue, parent_id, child_key, child_queue, child_id, status) VALUES (?, ?, ?, ?, ?, 'pending')")
      .run(parent.queueKey, parent.id, `${childQueue}:${childId}`, childQueue, childId);
  }

  count(queue: string, id: string, status: DepStatus): number {
    return (this.store.stmt('SELECT count(*) AS n FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND status = ?').get(queue, id, status) as { n: number }).n;
  }

  childCompleted(ev: EventBatch, childQueue: string, childId: string, parent: ParentRef, returnValue: string, now: number): void {
    const changed = this.store
      .stmt("UPDATE jobs_dep SET status = 'processed', value = ? WHERE parent_queue = ? AND parent_id = ? AND child_key = ? AND status = 'pending'")
      .run(returnValue, parent.queueKey, parent.id, `${childQueue}:${childId}`).changes;
    if (changed && this.count(parent.queueKey, parent.id, 'pending') === 0) this.release(ev, parent.queueKey, parent.id, now);
  }

  /** A child failed for good: what happens to its parent depends on the child's flags, as in BullMQ. */
  childFailed(ev: EventBatch, childQueue: string, childId: string, parent: ParentRef, reason: string, now: number): void {
    const key = `${childQueue}:${childId}`;
    const setStatus = (status: DepStatus, value: string | null): number =>
      this.store
        .stmt("UPDATE jobs_dep SET status = ?, value = ? WHERE parent_queue = ? AND parent_id = ? AND child_key = ? AND status = 'pending'")
        .run(status, value, parent.queueKey, parent.id, key).changes;
    if (parent.fpof) {
      if (!setStatus('failed', reason)) return;
      this.store
        .stmt('UPDATE jobs_job SET deferred_failure = ? WHERE queue = ? AND id = ?')
        .run(`child ${key} failed`, parent.queueKey, parent.id);
      this.release(ev, parent.queueKey, parent.id, now, true);
    } else if (parent.cpof) {
      if (setStatus('ignored', reason)) this.release(ev, parent.queueKey, parent.id, now, true);
    } else if (parent.idof || parent.rdof) {
      const changed = parent.idof
        ? setStatus('ignored', reason)
        : this.store.stmt("DELETE FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND child_key = ? AND status = 'pending'").run(parent.queueKey, parent.id, key).changes;
      if (changed && this.count(parent.queueKey, parent.id, 'pending') === 0) this.release(ev, parent.queueKey, parent.id, now);
    }
    // Without a flag the child stays a pending dependency and the parent keeps waiting, as in BullMQ.
  }

  /** A removed child no longer holds its parent back. */
  childRemoved(ev: EventBatch, childQueue: string, childId: string, parent: ParentRef, now: number): void {
    const n = this.store
      .stmt("DELETE FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND child_key = ? AND status = 'pending'")
      .run(parent.queueKey, parent.id, `${childQueue}:${childId}`).changes;
    if (n && this.count(parent.queueKey, parent.id, 'pending') === 0) this.release(ev, parent.queueKey, parent.id, now);
  }

  /** Moves a parent out of waiting-children (or delayed, when `force`) to the end of its queue's line. */
  release(ev: EventBatch, queue: string, id: string, now: number, force = false): void {
    const p = this.store.stmt('SELECT rid, state, opts FROM jobs_job WHERE queue = ? AND id = ?').get(queue, id) as
      | { rid: number; state: string; opts: string }
      | undefined;
    if (!p) return;
    if (p.state !== 'waiting-children' && !(force && p.state === 'delayed')) return;
    // Numbers held for retries of this batch are below this one: none may follow it.
    this.store.group.seqAhead.delete(queue);
    this.store.group.forgetCounter(queue);
    const seq = (this.store
      .stmt(
        BUMP_SEQ_SQL,
      )
      .get(queue) as { seq_counter: number }).seq_counter;
    const delay = force ? 0 : ((JSON.parse(p.opts) as JobsOptions).delay ?? 0);
    if (delay > 0) {
      this.store.stmt("UPDATE jobs_job SET state = 'delayed', seq = ?, process_at = ? WHERE rid = ?").run(seq, now + delay, p.rid);
      ev.pushTo(queue, 'delayed', { jobId: id, delay: now + delay });
    } else {
      this.store.stmt("UPDATE jobs_job SET state = 'waiting', seq = ?, delay = 0, process_at = NULL WHERE rid = ?").run(seq, p.rid);
      ev.pushTo(queue, 'waiting', { jobId: id, prev: p.state });
    }
    ev.wakeElsewhere.add(queue);
  }

  deps(queue: string, id: string, status: DepStatus, offset = 0, limit = -1): { child_key: string; child_queue: string; child_id: string; value: string | null }[] {
    return this.store
      .stmt('SELECT child_key, child_queue, child_id, value FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND status = ? ORDER BY child_key LIMIT ? OFFSET ?')
      .all(queue, id, status, limit, offset) as { child_key: string; child_queue: string; child_id: string; value: string | null }[];
  }

  /** Deletes the job's descendants (recursively) and their links; active ones stay. */
  removeChildren(queue: string, id: string, onlyUnprocessed: boolean): void {
    const children = this.store
      .stmt(`SELECT child_queue, child_id, status FROM jobs_dep WHERE parent_queue = ? AND parent_id = ?${onlyUnprocessed ? " AND status = 'pending'" : ''}`)
      .all(queue, id) as { child_queue: string; child_id: string; status: string }[];
    for (const c of children) {
      const row = this.store.stmt('SELECT rid, state FROM jobs_job WHERE queue = ? AND id = ?').get(c.child_queue, c.child_id) as
        | { rid: number; state: string }
        | undefined;
      if (row?.state === 'active') continue;
      this.removeChildren(c.child_queue, c.child_id, onlyUnprocessed);
      if (row) this.store.stmt('DELETE FROM jobs_job WHERE rid = ?').run(row.rid);
      this.store.stmt('DELETE FROM jobs_dep WHERE parent_queue = ? AND parent_id = ? AND child_key = ?').run(queue, id, `${c.child_queue}:${c.child_id}`);
    }
  }
}
