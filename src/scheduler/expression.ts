/**
 * node-cron 4.6's expression syntax, parsed into per-field value lists.
 *
 * The output mirrors node-cron's `parse()` exactly (same order, same duplicates, same string tokens
 * for `L`, `L-n`, `nW`, `LW`, `d#n`, `dL`) because `validateDetailed()` returns it to users. The
 * compiled, fast form lives in `schedule.ts`.
 */

export type FieldKey = 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek';

export interface ParsedFields {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: (number | string)[];
  month: number[];
  dayOfWeek: (number | string)[];
}

export interface CronFieldError {
  field: string;
  value?: string;
  message: string;
}

export interface DetailedValidation {
  valid: boolean;
  fields?: ParsedFields;
  errors: CronFieldError[];
}

interface FieldSpec {
  readonly key: FieldKey;
  readonly label: string;
  readonly min: number;
  readonly max: number;
  /** Range that `*` stands for; day of week is 0-6 although 7 is accepted as Sunday. */
  readonly star: string;
}

const FIELDS: readonly FieldSpec[] = [
  { key: 'second', label: 'second', min: 0, max: 59, star: '0-59' },
  { key: 'minute', label: 'minute', min: 0, max: 59, star: '0-59' },
  { key: 'hour', label: 'hour', min: 0, max: 23, star: '0-23' },
  { key: 'dayOfMonth', label: 'day of month', min: 1, max: 31, star: '1-31' },
  { key: 'month', label: 'month', min: 1, max: 12, star: '1-12' },
  { key: 'dayOfWeek', label: 'week day', min: 0, max: 7, star: '0-6' },
];

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const ALLOWED_CHARS = /^[a-zA-Z0-9\-*/,#? ]+$/;
const PLAIN_TOKEN = /^(?:\d+|\*|\*\/\d+)$/;
const DIGITS = /^\d+$/;
const RANGE_TOKEN = /^(\d+)-(\d+)(?:\/(\d+))?$/;
export const DOM_WEEKDAY_TOKEN = /^(\d{1,2}|L)W$/i;
export const DOM_OFFSET_TOKEN = /^L-(\d{1,2})$/i;
export const DOW_NTH_TOKEN = /^([0-7])#([1-5])$/;
export const DOW_LAST_TOKEN = /^([0-7])L$/i;
const MAX_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function resolveNickname(expression: string): string {
  return NICKNAMES[expression.trim().toLowerCase()] ?? expression;
}

/**
 * Names are replaced as substrings, full names before abbreviations, case-insensitively; node-cron
 * does the same, so odd inputs ("MONDAYS") fail or pass identically.
 */
function nameReplacements(names: readonly string[], base: number): readonly [RegExp, string][] {
  const full = names.map((n, i): [RegExp, string] => [new RegExp(n, 'gi'), String(i + base)]);
  const short = names.map((n, i): [RegExp, string] => [new RegExp(n.slice(0, 3), 'gi'), String(i + base)]);
  return [...full, ...short];
}
const MONTH_REPLACEMENTS = nameReplacements(MONTH_NAMES, 1);
const DAY_REPLACEMENTS = nameReplacements(DAY_NAMES, 0);

function replaceNames(field: string, replacements: readonly [RegExp, string][]): string {
  // Digits-only fields (the common case) cannot contain a name.
  if (!/[a-z]/i.test(field)) return field;
  let out = field;
  for (const [re, value] of replacements) out = out.replace(re, value);
  return out;
}

function expandRange(first: number, last: number, step: number, spec: FieldSpec): number[] {
  const out: number[] = [];
  if (first <= last) {
    for (let v = first; v <= last; v += step) out.push(v);
    return out;
  }
  // A range written backwards wraps around the field ("FRI-MON", "22-2"). Day of week wraps at 7.
  const lo = spec.min;
  const hi = spec.key === 'dayOfWeek' ? 6 : spec.max;
  const size = hi - lo + 1;
  const span = (((last - first) % size) + size) % size;
  for (let offset = 0; offset <= span; offset += step) {
    let v = first + offset;
    if (v > hi) v -= size;
    out.push(v);
  }
  return out;
}

function normaliseToken(token: string): number | string {
  const t = token.trim();
  if (/^l$/i.test(t)) return 'L';
  if (/^l-\d{1,2}$/i.test(t) || /^[0-7]l$/i.test(t) || /w/i.test(t)) return t.toUpperCase();
  if (t.includes('#')) return t;
  if (/^\d+$/.test(t)) return parseInt(t, 10);
  return t;
}

function convertField(raw: string, spec: FieldSpec): (number | string)[] {
  let text = raw;
  if (spec.key === 'month') text = replaceNames(text, MONTH_REPLACEMENTS);
  if (spec.key === 'dayOfWeek') text = replaceNames(text, DAY_REPLACEMENTS);
  const values: (number | string)[] = [];
  for (let token of text.split(',')) {
    if (DIGITS.test(token)) {
      values.push(parseInt(token, 10));
      continue;
    }
    if (token.includes('*')) token = token.replace('*', spec.star);
    const m = RANGE_TOKEN.exec(token.trim());
    if (m) {
      const step = parseInt(m[3] ?? '1', 10);
      if (step >= 1) {
        values.push(...expandRange(parseInt(m[1]!, 10), parseInt(m[2]!, 10), step, spec));
        continue;
      }
    }
    values.push(normaliseToken(token));
  }
  if (spec.key !== 'dayOfWeek') return values;
  const seen = new Set<number | string>();
  for (const v of values) {
    if (v === 7) seen.add(0);
    else if (typeof v === 'string' && v.startsWith('7')) seen.add('0' + v.slice(1));
    else seen.add(v);
  }
  return [...seen];
}

function plainValuesValid(values: readonly (number | string)[], min: number, max: number): boolean {
  for (const v of values) {
    // Numbers here come from digit runs and range expansion: non-negative integers, so only the range matters.
    if (typeof v === 'number') {
      if (v < min || v > max) return false;
      continue;
    }
    const s = v;
    const n = parseInt(s, 10);
    if (!PLAIN_TOKEN.test(s) || (!Number.isNaN(n) && (n < min || n > max))) return false;
  }
  return true;
}

function isSpecialDayOfMonth(v: number | string): boolean {
  if (typeof v !== 'string') return false;
  if (v === 'L') return true;
  const w = DOM_WEEKDAY_TOKEN.exec(v);
  if (w) return w[1] === 'L' || (parseInt(w[1]!, 10) >= 1 && parseInt(w[1]!, 10) <= 31);
  const o = DOM_OFFSET_TOKEN.exec(v);
  if (o) return parseInt(o[1]!, 10) >= 1 && parseInt(o[1]!, 10) <= 30;
  return false;
}

function fieldValid(values: readonly (number | string)[], raw: string, spec: FieldSpec): boolean {
  if (spec.key === 'dayOfMonth') {
    const misusedW = /w/i.test(raw) && raw.split(',').some((t) => /w/i.test(t.trim()) && !DOM_WEEKDAY_TOKEN.test(t.trim()));
    return !misusedW && plainValuesValid(values.filter((v) => !isSpecialDayOfMonth(v)), spec.min, spec.max);
  }
  if (spec.key === 'dayOfWeek') {
    const plain = values.filter((v) => !(typeof v === 'string' && (DOW_NTH_TOKEN.test(v) || /^[0-7]L$/.test(v))));
    return plainValuesValid(plain, spec.min, spec.max);
  }
  return plainValuesValid(values, spec.min, spec.max);
}

function impossibleDayOfMonth(days: readonly (number | string)[], months: readonly (number | string)[]): boolean {
  if (days.some((d) => typeof d !== 'number')) return false;
  return !months.some((m) => days.some((d) => (d as number) <= (MAX_DAYS_IN_MONTH[m as number] ?? 0)));
}

interface ConvertedField {
  readonly values: (number | string)[];
  readonly valid: boolean;
}

/**
 * Field texts repeat across expressions ("*", "0", "MON-FRI"), so conversions are memoised per field
 * position; this keeps creating thousands of tasks cheap. Cached value lists are shared: callers copy
 * before handing them out.
 */
const fieldCache: Map<string, ConvertedField>[] = FIELDS.map(() => new Map());
const FIELD_CACHE_LIMIT = 4096;

function convertCached(text: string, spec: FieldSpec, index: number): ConvertedField {
  const cache = fieldCache[index]!;
  let hit = cache.get(text);
  if (hit) return hit;
  // `?` means "no constraint" only when it is the whole day field.
  const effective = (spec.key === 'dayOfMonth' || spec.key === 'dayOfWeek') && text === '?' ? '*' : text;
  const values = convertField(effective, spec);
  hit = { values, valid: fieldValid(values, text, spec) };
  if (cache.size >= FIELD_CACHE_LIMIT) cache.clear();
  cache.set(text, hit);
  return hit;
}

/** Validates and expands an expression; never throws. Same result shape and messages as node-cron's. */
export function validateExpression(pattern: unknown): DetailedValidation {
  const result = analyseExpression(pattern);
  if (!result.fields) return result;
  const f = result.fields;
  return {
    valid: true,
    errors: [],
    fields: {
      second: f.second.slice(),
      minute: f.minute.slice(),
      hour: f.hour.slice(),
      dayOfMonth: f.dayOfMonth.slice(),
      month: f.month.slice(),
      dayOfWeek: f.dayOfWeek.slice(),
    },
  };
}

/** validateExpression for internal use: `fields` are shared, cached lists that must not be modified. */
export function analyseExpression(pattern: unknown): DetailedValidation {
  if (typeof pattern !== 'string') return { valid: false, errors: [{ field: 'expression', message: 'pattern must be a string' }] };
  const resolved = resolveNickname(pattern);
  if (!ALLOWED_CHARS.test(resolved)) {
    return { valid: false, errors: [{ field: 'expression', value: pattern, message: 'pattern includes illegal characters' }] };
  }
  const raw = resolved.replace(/\s{2,}/g, ' ').trim().split(' ');
  if (raw.length !== 5 && raw.length !== 6) {
    return { valid: false, errors: [{ field: 'expression', value: pattern, message: `expected 5 or 6 fields but got ${raw.length}` }] };
  }
  const patterns = raw.length === 5 ? ['0', ...raw] : raw;
  const converted: (number | string)[][] = [];
  const errors: CronFieldError[] = [];
  FIELDS.forEach((spec, i) => {
    const field = convertCached(patterns[i]!, spec, i);
    converted.push(field.values);
    if (!field.valid) {
      errors.push({ field: spec.key, value: patterns[i]!, message: `${patterns[i]} is a invalid expression for ${spec.label}` });
    }
  });
  if (errors.length === 0 && impossibleDayOfMonth(converted[3]!, converted[4]!)) {
    errors.push({ field: 'dayOfMonth', value: patterns[3]!, message: `${patterns[3]} ${patterns[4]} is an impossible day of month for the given month` });
  }
  if (errors.length > 0) return { valid: false, errors };
  return {
    valid: true,
    errors: [],
    fields: {
      second: converted[0] as number[],
      minute: converted[1] as number[],
      hour: converted[2] as number[],
      dayOfMonth: converted[3]!,
      month: converted[4] as number[],
      dayOfWeek: converted[5]!,
    },
  };
}
