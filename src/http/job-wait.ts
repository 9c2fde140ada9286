import type { Histogram, Registry } from 'prom-client';
import { labelledHistogram, promClient } from './prom-client.js';
import type { JobStore } from '../queue/store.js';

const WAIT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600];

/** Per queue: the latest finish time already sampled, and the rows sampled at exactly that millisecond. */
interface Cursor {
  finishedOn: number;
  atEdge: Set<number>;
}

/**
 * `railyard_job_wait_seconds`: how long each job waited for a worker, sampled at scrape time from the
 * jobs that finished since the previous scrape. Reading the store (not hooking the claim) sees workers
 * of every process on the data dir, which is where applications using `railyard/jobs` run theirs, and
 * keeps the job store's hot path untouched. The cost: a job is observed when it finishes, not when it
 * starts, and one removed on completion (`removeOnComplete`) is never observed.
 */
export class JobWaitSampler {
  // Made at the first scrape (see promClient).
  private prom: { registry: Registry; wait: Histogram<'queue'> } | undefined;
  private readonly cursors = new Map<string, Cursor>();

  /** Jobs finished before `since` (epoch ms, the broker's start) are history, not observed. */
  constructor(private readonly since: number) {}

  async text(store: JobStore, queues: readonly string[]): Promise<string> {
    const prom = (this.prom ??= JobWaitSampler.histogram());
    for (const queue of queues) this.sample(store, queue, prom.wait);
    // One family per registry: no blank separators to trim.
    return prom.registry.metrics();
  }

  private static histogram(): { registry: Registry; wait: Histogram<'queue'> } {
    const registry = new (promClient().Registry)();
    const wait = labelledHistogram(
      registry,
      'railyard_job_wait_seconds',
      "Time from a job's creation (plus its delay) to a worker starting it, by queue; first attempts of jobs finished since the broker started.",
      'queue',
      WAIT_BUCKETS,
    );
    return { registry, wait };
  }

  private sample(store: JobStore, queue: string, wait: Histogram<'queue'>): void {
    let c = this.cursors.get(queue);
    if (!c) this.cursors.set(queue, (c = { finishedOn: this.since, atEdge: new Set() }));
    // Finished jobs by the (queue, state, finished_on) index. The delay comes from opts: promoting a
    // delayed job zeroes the row's delay column. Later attempts are left out: they waited for a retry's
    // backoff, not for a worker.
    const rows = store
      .stmt(
        `SELECT rid, finished_on AS f, processed_on - timestamp - COALESCE(json_extract(opts, '$.delay'), 0) AS w
           FROM jobs_job WHERE queue = ? AND state IN ('completed', 'failed') AND finished_on >= ?
            AND processed_on IS NOT NULL AND attempts_started = 1 ORDER BY finished_on`,
      )
      .all(queue, c.finishedOn) as { rid: number; f: number; w: number }[];
    for (const r of rows) {
      if (r.f === c.finishedOn && c.atEdge.has(r.rid)) continue;
      if (r.f > c.finishedOn) {
        c.finishedOn = r.f;
        c.atEdge.clear();
      }
      c.atEdge.add(r.rid);
      wait.observe({ queue }, Math.max(0, r.w) / 1000);
    }
  }
}
