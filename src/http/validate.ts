import { badRequest } from './errors.js';

/**
 * Field checks for request bodies and query strings. Each throws a 400 naming the field, so callers
 * learn which part of their request to fix.
 */
export type Fields = Readonly<Record<string, unknown>>;

export function objectBody(v: unknown, field = 'body'): Fields {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest(field, 'must be a JSON object');
  return v as Fields;
}

export function requiredString(o: Fields, field: string, prefix = ''): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '') throw badRequest(prefix + field, 'must be a non-empty string');
  return v;
}

export function optionalInt(o: Fields, field: string, min: number, max: number, prefix = ''): number | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw badRequest(prefix + field, `must be an integer between ${min} and ${max}`);
  }
  return v;
}

export function optionalBoolean(o: Fields, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badRequest(field, 'must be true or false');
  return v;
}

/** A map of string values; `allowNull` lets a value be null (deleting a config override). */
export function stringMap(v: unknown, field: string, allowNull: boolean): Record<string, string | null> {
  const o = objectBody(v, field);
  const out: Record<string, string | null> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val === 'string' || (allowNull && val === null)) out[k] = val;
    else throw badRequest(`${field}.${k}`, allowNull ? 'must be a string or null' : 'must be a string');
  }
  return out;
}

/** Parses a non-negative integer from a query parameter. */
export function queryInt(q: URLSearchParams, field: string, min: number, max: number): number | undefined {
  const raw = q.get(field);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw badRequest(field, `must be an integer between ${min} and ${max}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badRequest(field, `must be an integer between ${min} and ${max}`);
  return n;
}

export function oneOf<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw badRequest(field, `must be one of ${choices.join(', ')}`);
  return v as T;
}
