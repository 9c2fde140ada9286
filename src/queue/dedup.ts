import type { JobJson, JobsOptions } from 'bullmq';
import type { JobStore } from './store.js';
import type { EventBatch } from './events.js';

/** `opts.deduplication` as BullMQ 6.7 defines it. */
interface DedupOptions {
  id: string;
  ttl?: number;
  extend?: boolean;
  replace?: boolean;
  reschedule?: boolean;
  keepLastIfActive?: boolean;
}

/** What adding a job with a deduplication id comes to. */
export type DedupDecision =
  /** Do not add: the job already holding the id stands for this one. */
  | { readonly winner: string }
  /** Add the job, then point the id at it with this expiry (null: until the job finishes). */
  | { readonly expireAt: number | null };

interface Holder {
  job_id: string;
  expire_at: number | null;
  state: string | null;
}

/** Re-inserts a job saved by keepLastIfActive; the caller's insert, bypassing deduplication. */
export type Requeue = (ev: EventBatch, job: JobJson, id: string, expireAt: number | null) => void;

/**
 * Deduplication ids of one queue (`jobs_dedup`: id → job, with an optional expiry) and the jobs
 * that keepLastIfActive holds back while the id's job runs (`jobs_dedup_next`, at most one per id,
 * the latest add wins). Runs inside the caller's transaction.
 *
 * The rules are BullMQ 6.7's, as its Redis scripts apply them:
 * - plain: while the id is held (ttl not expired, or no ttl and its job unfinished) an add returns
 *   the holder and emits `deduplicated`; `extend` restarts the ttl on each such add; `reschedule`
 *   moves a delayed holder to the new add's delay.
 * - replace: a delayed holder is removed (`removed`, then `deduplicated` naming the new job) and
 *   the new job is added in its place, keeping the id's expiry unless `extend`; a holder in any
 *   other state is returned, silently.
 * - keepLastIfActive: an add while the holder is active is saved and becomes a real job, with the
 *   id the add returned, once the holder finishes (completes or finally fails). The id then has no
 *   expiry, since it must outlive the active job (BullMQ ignores `ttl` with this flag).
 * - an id without expiry whose job no longer exists (or finished) is stale: the add takes it over.
 */
export class DedupOps {
  constructor(
    private readonly store: JobStore,
    private readonly queue: string,
  ) {}

  /** The job holding `dedupId`, unless its ttl ran out. */
  private holder(dedupId: string, now: number): Holder | undefined {
    const h = this.store
      .stmt(
        `SELECT d.job_id, d.expire_at, j.state FROM jobs_dedup d LEFT JOIN jobs_job j ON j.queue = d.queue AND j.id = d.job_id
         WHERE d.queue = ? AND d.dedup_id = ?`,
      )
      .get(this.queue, dedupId) as Holder | undefined;
    if (!h || (h.expire_at !== null && h.expire_at <= now)) return undefined;
    return h;
  }

  private static expiry(d: DedupOptions, now: number): number | null {
    return !d.keepLastIfActive && d.ttl && d.ttl > 0 ? now + d.ttl : null;
  }

  private setKey(dedupId: string, jobId: string, expireAt: number | null): void {
    this.store.stmt('INSERT OR REPLACE INTO jobs_dedup (queue, dedup_id, job_id, expire_at) VALUES (?, ?, ?, ?)').run(this.queue, dedupId, jobId, expireAt);
  }

  private dropNext(dedupId: string): void {
    this.store.stmt('DELETE FROM jobs_dedup_next WHERE queue = ? AND dedup_id = ?').run(this.queue, dedupId);
  }

  /** Decides whether `job` (about to be added as `id`) is added; records what that requires. */
  decide(ev: EventBatch, dedupId: string, job: JobJson, id: string, now: number): DedupDecision {
    const d: DedupOptions = { ...((job.opts?.deduplication as DedupOptions | undefined) ?? {}), id: dedupId };
    const fresh = { expireAt: DedupOps.expiry(d, now) };
    const h = this.holder(dedupId, now);
    if (!h) return fresh;
    if (h.expire_at === null && (h.state === null || h.state === 'completed' || h.state === 'failed')) {
      // Stale: its job is gone (or finished without releasing it). Start over with this add.
      this.dropNext(dedupId);
      return fresh;
    }
    if (d.replace) {
      if (h.state === 'delayed') {
        this.store.stmt('DELETE FROM jobs_job WHERE queue = ? AND id = ?').run(this.queue, h.job_id);
        this.dropNext(dedupId);
        ev.push('removed', { jobId: h.job_id, prev: 'delayed' });
        ev.push('deduplicated', { jobId: id, deduplicationId: dedupId, deduplicatedJobId: h.job_id });
        // Without `extend`, the id keeps the expiry it had (Redis KEEPTTL): a ttl window keeps
        // running from the first add.
        const keep = !d.keepLastIfActive && !d.extend && d.ttl && d.ttl > 0;
        return { expireAt: keep ? h.expire_at : fresh.expireAt };
      }
      this.saveNext(ev, d, h, job, id);
      return { winner: h.job_id };
    }
    if (this.saveNext(ev, d, h, job, id)) return { winner: h.job_id };
    if (d.extend && d.ttl && d.ttl > 0) this.setKey(dedupId, h.job_id, fresh.expireAt);
    ev.push('deduplicated', { jobId: h.job_id, deduplicationId: dedupId, deduplicatedJobId: id });
    if (d.reschedule && h.state === 'delayed') {
      const delay = Math.max(0, job.opts?.delay ?? 0);
      const at = (job.timestamp ?? now) + delay;
      this.store.stmt('UPDATE jobs_job SET delay = ?, process_at = ? WHERE queue = ? AND id = ?').run(delay, at, this.queue, h.job_id);
      ev.push('delayed', { jobId: h.job_id, delay: at });
      ev.wakeWorkers = true;
    }
    return { winner: h.job_id };
  }

  /** keepLastIfActive with an active holder: keep `job` (replacing an earlier one) for later. */
  private saveNext(ev: EventBatch, d: DedupOptions, h: Holder, job: JobJson, id: string): boolean {
    if (!d.keepLastIfActive || h.state !== 'active') return false;
    this.store
      .stmt('INSERT OR REPLACE INTO jobs_dedup_next (queue, dedup_id, job_id, job) VALUES (?, ?, ?, ?)')
      .run(this.queue, d.id, id, JSON.stringify(job));
    // The id must not expire while its job runs, or a later add would bypass the active check.
    this.setKey(d.id, h.job_id, null);
    ev.push('deduplicated', { jobId: h.job_id, deduplicationId: d.id, deduplicatedJobId: id });
    return true;
  }

  /** Points `dedupId` at the job just added. */
  claimKey(dedupId: string, jobId: string, expireAt: number | null): void {
    this.setKey(dedupId, jobId, expireAt);
  }

  /**
   * A job holding `dedupId` finished: an id without expiry is released, and a job saved by
   * keepLastIfActive is added now, taking the id over.
   */
  finished(ev: EventBatch, dedupId: string, jobId: string, now: number, requeue: Requeue): void {
    this.store.stmt('DELETE FROM jobs_dedup WHERE queue = ? AND dedup_id = ? AND job_id = ? AND expire_at IS NULL').run(this.queue, dedupId, jobId);
    this.store.stmt('DELETE FROM jobs_dedup WHERE queue = ? AND dedup_id = ? AND expire_at <= ?').run(this.queue, dedupId, now);
    const next = this.store
      .stmt('DELETE FROM jobs_dedup_next WHERE queue = ? AND dedup_id = ? RETURNING job_id, job')
      .get(this.queue, dedupId) as { job_id: string; job: string } | undefined;
    if (!next) return;
    const job = JSON.parse(next.job) as JobJson;
    job.timestamp = now;
    const d = (job.opts as JobsOptions & { deduplication?: DedupOptions }).deduplication;
    requeue(ev, job, next.job_id, d ? DedupOps.expiry(d, now) : null);
  }

  /** A job was removed: if it held `dedupId`, the id is free and nothing waits behind it. */
  removed(dedupId: string, jobId: string): void {
    if (this.store.stmt('DELETE FROM jobs_dedup WHERE queue = ? AND dedup_id = ? AND job_id = ?').run(this.queue, dedupId, jobId).changes > 0) {
      this.dropNext(dedupId);
    }
  }
}
