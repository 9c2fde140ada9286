import type { JobJson } from 'bullmq';
import { InvalidArgumentError } from '../errors.js';

function nonNegative(name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(name, v, 'a finite number >= 0');
  }
}

/**
 * Options BullMQ itself lets through but that would store a job that can never run as asked
 * (a negative delay, a fractional attempt count, a backoff without a type). Checked before
 * anything is written, so a bad job is refused whole.
 */
export function validateJob(job: JobJson): void {
  const o = job.opts ?? {};
  nonNegative('opts.delay', o.delay);
  nonNegative('opts.priority', o.priority);
  if (o.attempts !== undefined && (!Number.isInteger(o.attempts) || o.attempts < 0)) {
    throw new InvalidArgumentError('opts.attempts', o.attempts, 'an integer >= 0');
  }
  const b = o.backoff;
  if (b !== undefined) {
    if (typeof b === 'number') nonNegative('opts.backoff', b);
    else if (typeof b !== 'object' || b === null || typeof b.type !== 'string' || b.type === '') {
      throw new InvalidArgumentError('opts.backoff', b, "a delay in ms or { type: 'fixed' | 'exponential' | <custom>, delay? }");
    } else nonNegative('opts.backoff.delay', b.delay);
  }
  const d = o.deduplication;
  if (d !== undefined) {
    if (typeof d !== 'object' || d === null || typeof d.id !== 'string' || d.id === '') {
      throw new InvalidArgumentError('opts.deduplication.id', (d as { id?: unknown } | null)?.id, 'a non-empty string');
    }
    nonNegative('opts.deduplication.ttl', d.ttl);
  }
  if (typeof job.data !== 'string') {
    throw new InvalidArgumentError('data', job.data, 'JSON-serializable data');
  }
}
