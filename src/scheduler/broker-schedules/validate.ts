/** Checks a schedule definition from the config file, the HTTP API or the CLI; errors name the field. */
import { InvalidArgumentError } from '../../errors.js';
import { CronSchedule } from '../schedule.js';
import type { CatchUpPolicy, ScheduleDefinition, ScheduleTarget } from './types.js';

const NAME = /^[A-Za-z0-9._:-]{1,200}$/;

function str(obj: Record<string, unknown>, key: string, path: string, required: boolean): string | undefined {
  const v = obj[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${path}.${key}`, v, 'a string');
  return v;
}

function stringMap(v: unknown, path: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError(path, v, 'an object of string values');
  }
  return v as Record<string, string>;
}

function target(v: unknown): ScheduleTarget {
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError('target', v, 'an object with a type');
  const t = v as Record<string, unknown>;
  switch (t.type) {
    case 'kafka': {
      const partition = t.partition;
      if (partition !== undefined && !(Number.isInteger(partition) && (partition as number) >= 0)) {
        throw new InvalidArgumentError('target.partition', partition, 'an integer >= 0');
      }
      const out: ScheduleTarget = { type: 'kafka', topic: str(t, 'topic', 'target', true)!, value: str(t, 'value', 'target', false) ?? '' };
      if (partition !== undefined) out.partition = partition as number;
      const key = str(t, 'key', 'target', false);
      if (key !== undefined) out.key = key;
      const headers = stringMap(t.headers, 'target.headers');
      if (headers) out.headers = headers;
      return out;
    }
    case 'amqp': {
      const out: ScheduleTarget = { type: 'amqp', exchange: str(t, 'exchange', 'target', true)!, body: str(t, 'body', 'target', false) ?? '' };
      for (const k of ['vhost', 'routingKey', 'contentType'] as const) {
        const s = str(t, k, 'target', false);
        if (s !== undefined) out[k] = s;
      }
      const headers = stringMap(t.headers, 'target.headers');
      if (headers) out.headers = headers;
      return out;
    }
    case 'job': {
      const out: ScheduleTarget = { type: 'job', queue: str(t, 'queue', 'target', true)!, name: str(t, 'name', 'target', true)! };
      if (t.data !== undefined) {
        try {
          JSON.stringify(t.data);
        } catch {
          throw new InvalidArgumentError('target.data', t.data, 'JSON-serialisable data');
        }
        out.data = t.data;
      }
      return out;
    }
    default:
      throw new InvalidArgumentError('target.type', t.type, "'kafka', 'amqp' or 'job'");
  }
}

export function validateDefinition(input: unknown): ScheduleDefinition {
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('schedule', input, 'an object');
  const d = input as Record<string, unknown>;
  const name = d.name;
  if (typeof name !== 'string' || !NAME.test(name)) throw new InvalidArgumentError('name', name, 'letters, digits, . _ : - (1-200 characters)');
  if (typeof d.expression !== 'string') throw new InvalidArgumentError('expression', d.expression, 'a cron expression');
  const timezone = d.timezone;
  if (timezone !== undefined && typeof timezone !== 'string') throw new InvalidArgumentError('timezone', timezone, 'an IANA time zone');
  // Compiling checks the expression and the zone, naming the field that is wrong.
  new CronSchedule(d.expression, { timezone });
  const catchUp = d.catchUp ?? 'skip';
  if (catchUp !== 'skip' && catchUp !== 'once') throw new InvalidArgumentError('catchUp', catchUp, "'skip' or 'once'");
  if (d.enabled !== undefined && typeof d.enabled !== 'boolean') throw new InvalidArgumentError('enabled', d.enabled, 'a boolean');
  const def: ScheduleDefinition = { name, expression: d.expression, target: target(d.target), catchUp: catchUp as CatchUpPolicy, enabled: d.enabled !== false };
  if (timezone !== undefined) def.timezone = timezone;
  return def;
}
