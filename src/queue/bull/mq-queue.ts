import { Job, Queue, type JobJson } from 'bullmq';
import type { RailyardConnectionOptions, RailyardQueueBackend } from '../backend.js';

/**
 * BullMQ's Job, except that a custom id may be an integer, as Bull allows (`jobId: order.id`).
 * BullMQ refuses those because they could meet its counter's ids; so could Bull's, and then, in
 * both, the add finds the existing job. Every other check of BullMQ's stays.
 */
class BullIdJob extends Job {
  protected override validateOptions(jobData: JobJson): void {
    const id = this.opts.jobId;
    if (id === undefined || `${parseInt(id, 10)}` !== id) {
      super.validateOptions(jobData);
      return;
    }
    const opts = this.opts;
    this.opts = { ...opts, jobId: undefined };
    try {
      super.validateOptions(jobData);
    } finally {
      this.opts = opts;
    }
  }
}

/** The BullMQ Queue behind a facade queue: adds through {@link BullIdJob}. */
export class FacadeMqQueue extends Queue<unknown, unknown, string, unknown, unknown, string, RailyardQueueBackend, RailyardConnectionOptions> {
  protected override get Job(): typeof Job {
    // The subclass is not generic; BullMQ only calls its static create/createBulk/fromJSON.
    return BullIdJob as unknown as typeof Job;
  }
}
