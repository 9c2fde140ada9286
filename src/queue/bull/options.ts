import { CronExpressionParser } from 'cron-parser';
import type { JobsOptions } from 'bullmq';
import { InvalidArgumentError } from '../../errors.js';
import { UnsupportedOperationError } from '../errors.js';

/** Bull 4's job options (the subset with a meaning on Railyard). */
export interface BullJobOptions {
  priority?: number;
  delay?: number;
  attempts?: number;
  repeat?: BullRepeatOptions;
  backoff?: number | { type: string; delay?: number; options?: unknown };
  lifo?: boolean;
  /** ms after which a running job fails with "Promise timed out after <n> milliseconds". */
  timeout?: number;
  /** Jobs read back (by a processor, getJob, ...) keep `data` as its stored JSON text. */
  preventParsingData?: boolean;
  jobId?: string | number;
  removeOnComplete?: boolean | number | { age?: number; count?: number };
  removeOnFail?: boolean | number | { age?: number; count?: number };
  stackTraceLimit?: number;
  debounce?: { id: string; ttl?: number };
}

export interface BullRepeatOptions {
  cron?: string;
  every?: number;
  tz?: string;
  startDate?: Date | string | number;
  endDate?: Date | string | number;
  limit?: number;
  count?: number;
  readonly key?: string;
}

export type BackoffStrategy = (attemptsMade: number, err: Error, options?: unknown) => number;

/** Bull 4's queue options, with `dataDir` in place of `redis`. */
export interface BullQueueOptions {
  /** The Railyard data dir; default `RAILYARD_DATA_DIR` or `./.railyard`. */
  dataDir?: string;
  prefix?: string;
  /** `groupKey`: the limit applies per value of that job-data field (Bull's group rate limit). */
  limiter?: { max: number; duration: number; bounceBack?: boolean; groupKey?: string };
  defaultJobOptions?: BullJobOptions;
  metrics?: { maxDataPoints?: number };
  settings?: {
    lockDuration?: number;
    lockRenewTime?: number;
    stalledInterval?: number;
    maxStalledCount?: number;
    guardInterval?: number;
    retryProcessDelay?: number;
    drainDelay?: number;
    backoffStrategies?: Record<string, BackoffStrategy>;
  };
}

const BUILTIN_BACKOFF = new Set(['fixed', 'exponential']);

/** Checks `limiter` when the queue is created, so a bad limit fails there, not at the first job. */
export function validateLimiter(l: BullQueueOptions['limiter']): void {
  if (l === undefined) return;
  if (!Number.isInteger(l.max) || l.max < 1) throw new InvalidArgumentError('limiter.max', l.max, 'an integer >= 1');
  if (typeof l.duration !== 'number' || !Number.isFinite(l.duration) || l.duration <= 0) {
    throw new InvalidArgumentError('limiter.duration', l.duration, 'a window in ms > 0');
  }
  if (l.bounceBack === true) {
    // Bull then takes a limited job out of every list without putting it anywhere.
    throw new UnsupportedOperationError('limiter.bounceBack', 'a limited job waits (delayed with a groupKey, else in wait) until the limit allows it');
  }
  if (l.groupKey !== undefined && (typeof l.groupKey !== 'string' || l.groupKey === '')) {
    throw new InvalidArgumentError('limiter.groupKey', l.groupKey, 'the name of a job-data field');
  }
}

function nonNegative(name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(name, v, 'a finite number >= 0');
}

/** Refuses data that JSON cannot carry faithfully (BigInt, functions, cycles, top-level undefined). */
export function assertJsonData(data: unknown): void {
  if (typeof data === 'function' || typeof data === 'symbol') {
    throw new InvalidArgumentError('data', String(data), 'JSON-serializable data');
  }
  try {
    JSON.stringify(data, (_k, v: unknown) => {
      if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') throw new TypeError(typeof v);
      return v;
    });
  } catch (err) {
    throw new InvalidArgumentError('data', `<${(err as Error).message}>`, 'JSON-serializable data (no BigInt, functions or cycles)');
  }
}

/** Checks Bull options up front so a bad job is refused before anything is stored. */
export function validateBullOptions(o: BullJobOptions, strategies: Record<string, BackoffStrategy> | undefined): void {
  nonNegative('opts.delay', o.delay);
  nonNegative('opts.priority', o.priority);
  nonNegative('opts.timeout', o.timeout);
  if (o.attempts !== undefined && (!Number.isInteger(o.attempts) || o.attempts < 1)) {
    throw new InvalidArgumentError('opts.attempts', o.attempts, 'an integer >= 1');
  }
  const b = o.backoff;
  if (typeof b === 'number') nonNegative('opts.backoff', b);
  else if (b !== undefined) {
    if (typeof b !== 'object' || b === null || typeof b.type !== 'string') {
      throw new InvalidArgumentError('opts.backoff', b, 'a delay in ms or { type, delay }');
    }
    if (!BUILTIN_BACKOFF.has(b.type) && !(strategies && b.type in strategies)) {
      throw new InvalidArgumentError('opts.backoff.type', b.type, `'fixed', 'exponential' or a name in settings.backoffStrategies`);
    }
    nonNegative('opts.backoff.delay', b.delay);
  }
  if (o.jobId !== undefined && typeof o.jobId !== 'string' && !(typeof o.jobId === 'number' && Number.isSafeInteger(o.jobId))) {
    throw new InvalidArgumentError('opts.jobId', o.jobId, 'a string or an integer');
  }
  const r = o.repeat;
  if (r) {
    if (!r.cron === !r.every) throw new InvalidArgumentError('opts.repeat', r, 'exactly one of cron or every');
    if (r.every !== undefined && (!Number.isFinite(r.every) || r.every <= 0)) {
      throw new InvalidArgumentError('opts.repeat.every', r.every, 'a positive number of ms');
    }
    if (r.cron) {
      try {
        CronExpressionParser.parse(r.cron, r.tz ? { tz: r.tz } : {});
      } catch (err) {
        throw new InvalidArgumentError('opts.repeat.cron', r.cron, `a cron pattern (${(err as Error).message})`);
      }
    }
  }
}

/** Bull options → BullMQ options (repeat is handled by the caller, through a job scheduler). */
export function toBullmqOptions(o: BullJobOptions): JobsOptions {
  const out: JobsOptions & { timeout?: number; preventParsingData?: boolean } = {};
  if (o.priority !== undefined) out.priority = o.priority;
  if (o.delay !== undefined) out.delay = o.delay;
  if (o.attempts !== undefined) out.attempts = o.attempts;
  if (o.backoff !== undefined) out.backoff = o.backoff as JobsOptions['backoff'];
  if (o.lifo !== undefined) out.lifo = o.lifo;
  if (o.timeout !== undefined) out.timeout = o.timeout;
  if (o.preventParsingData !== undefined) out.preventParsingData = o.preventParsingData;
  if (o.jobId !== undefined) out.jobId = String(o.jobId);
  if (o.removeOnComplete !== undefined) out.removeOnComplete = o.removeOnComplete as JobsOptions['removeOnComplete'];
  if (o.removeOnFail !== undefined) out.removeOnFail = o.removeOnFail as JobsOptions['removeOnFail'];
  if (o.stackTraceLimit !== undefined) out.stackTraceLimit = o.stackTraceLimit;
  if (o.debounce) out.deduplication = { id: o.debounce.id, ...(o.debounce.ttl ? { ttl: o.debounce.ttl } : {}) };
  return out;
}

/** Bull's repeat key, `name:jobId:endDate:tz:cron|every`, used as the scheduler id. */
export function repeatKey(name: string, r: BullRepeatOptions, jobId?: string | number): string {
  const end = r.endDate !== undefined ? new Date(r.endDate).getTime() : '';
  return `${name}:${jobId ?? ''}:${end}:${r.tz ?? ''}:${r.cron ?? r.every}`;
}
