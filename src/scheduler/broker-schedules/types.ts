/** Schedules the broker itself keeps: on each slot, emit a record, a message or a job. */

/** Produce one record to a Kafka topic. */
export interface KafkaTarget {
  type: 'kafka';
  topic: string;
  /** Default 0. */
  partition?: number;
  key?: string;
  /** `{{slot}}` (ISO time of the slot) and `{{name}}` are replaced. */
  value: string;
  headers?: Record<string, string>;
}

/** Publish one message to an AMQP exchange ('' is the default exchange). */
export interface AmqpTarget {
  type: 'amqp';
  vhost?: string;
  exchange: string;
  routingKey?: string;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Add one job to a job queue (BullMQ-compatible store). */
export interface JobTarget {
  type: 'job';
  queue: string;
  name: string;
  /** JSON data; string values get `{{slot}}`/`{{name}}` replaced. */
  data?: unknown;
}

export type ScheduleTarget = KafkaTarget | AmqpTarget | JobTarget;

/**
 * What happens to slots that passed while the broker was down:
 * `skip` drops them; `once` emits once at startup (for the latest missed slot) however many passed.
 */
export type CatchUpPolicy = 'skip' | 'once';

export interface ScheduleDefinition {
  name: string;
  /** node-cron syntax (optional seconds field). */
  expression: string;
  timezone?: string;
  target: ScheduleTarget;
  catchUp?: CatchUpPolicy;
  enabled?: boolean;
}

export interface StoredSchedule extends Required<Omit<ScheduleDefinition, 'timezone'>> {
  timezone: string | null;
  /** The last slot emitted (ms), null before the first. */
  lastSlot: number | null;
  lastError: string | null;
  runs: number;
  createdAt: number;
  updatedAt: number;
}

/** What an emitter learns about the slot it emits for. */
export interface EmitContext {
  name: string;
  /** The slot (ms since the epoch), not the time the emission happens. */
  slot: number;
  /** True when emitted at startup for slots missed while the broker was down. */
  catchUp: boolean;
  /** True for a run-now from the management API; `slot` is then the time it was asked for. */
  manual?: boolean;
}

/** One per target type, supplied by the door that owns it (Kafka log, AMQP vhosts, job store). */
export type Emitter<T extends ScheduleTarget> = (target: T, ctx: EmitContext) => Promise<void>;

export interface Emitters {
  kafka?: Emitter<KafkaTarget>;
  amqp?: Emitter<AmqpTarget>;
  job?: Emitter<JobTarget>;
}

/** Replaces `{{slot}}` and `{{name}}` in a template. */
export function fillTemplate(text: string, ctx: EmitContext): string {
  return text.replace(/\{\{\s*(slot|name)\s*\}\}/g, (_, k: string) => (k === 'slot' ? new Date(ctx.slot).toISOString() : ctx.name));
}
