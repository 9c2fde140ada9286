/**
 * A compiled cron expression: per-field lookup tables and a forward search that jumps field by field
 * (month, then day, hour, minute, second) instead of stepping through time.
 *
 * Day of month and day of week are combined with AND, as node-cron 4.6 does (Vixie cron uses OR).
 */
import { InvalidArgumentError } from '../errors.js';
import {
  DOM_OFFSET_TOKEN,
  DOM_WEEKDAY_TOKEN,
  DOW_LAST_TOKEN,
  DOW_NTH_TOKEN,
  analyseExpression,
  validateExpression,
  type ParsedFields,
} from './expression.js';
import { TimeZone } from './timezone.js';

const SECOND = 1000;
/** node-cron gives up after about a century; an expression that never matches ends here too. */
const MAX_YEARS_AHEAD = 100;

/** A field's allowed values as a bitmask; seconds and minutes need two 32-bit halves. */
function mask32(values: Iterable<number>, offset = 0, limit = 32): number {
  let m = 0;
  for (const v of values) {
    const b = v - offset;
    if (b >= 0 && b < limit) m |= 1 << b;
  }
  return m;
}

/** Lowest set bit at position >= from, or -1. */
function nextBit(mask: number, from: number): number {
  if (from > 31) return -1;
  const m = from === 0 ? mask : (mask >>> from) << from;
  if (m === 0) return -1;
  return 31 - Math.clz32(m & -m);
}

/** nextBit over a 64-bit mask held as two halves. */
function nextBit64(lo: number, hi: number, from: number): number {
  if (from < 32) {
    const b = nextBit(lo, from);
    if (b >= 0) return b;
    from = 32;
  }
  const b = nextBit(hi, from - 32);
  return b < 0 ? -1 : b + 32;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Nearest weekday to `target` within the month (never crossing into another month), or -1. */
function nearestWeekday(year: number, month: number, target: number, last: number): number {
  if (target < 1 || target > last) return -1;
  const wd = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
  if (wd === 6) return target === 1 ? 3 : target - 1;
  if (wd === 0) return target === last ? target - 2 : target + 1;
  return target;
}

/** Day fields; the rarely used token lists stay empty (shared) unless the expression has them. */
interface DaySpec {
  /** Bit d set: plain day-of-month d allowed (bits 1..31). */
  domMask: number;
  domLast: boolean;
  domLastOffsets: readonly number[];
  domNearestWeekday: readonly number[];
  domLastWeekday: boolean;
  /** Bit w set: weekday w allowed every week. */
  dowMask: number;
  dowNth: readonly { weekday: number; nth: number }[];
  dowLast: readonly number[];
}

const NONE: readonly never[] = Object.freeze([]);

function compileDays(fields: ParsedFields): DaySpec {
  const lastOffsets: number[] = [];
  const nearest: number[] = [];
  const nth: { weekday: number; nth: number }[] = [];
  const lastWeekdays: number[] = [];
  const spec: DaySpec = {
    domMask: 0, domLast: false, domLastOffsets: NONE, domNearestWeekday: NONE, domLastWeekday: false,
    dowMask: 0, dowNth: NONE, dowLast: NONE,
  };
  for (const v of fields.dayOfMonth) {
    if (typeof v === 'number') { spec.domMask |= 1 << v; continue; }
    if (v === 'L') { spec.domLast = true; continue; }
    const w = DOM_WEEKDAY_TOKEN.exec(v);
    if (w) {
      if (w[1]!.toUpperCase() === 'L') spec.domLastWeekday = true;
      else nearest.push(parseInt(w[1]!, 10));
      continue;
    }
    const o = DOM_OFFSET_TOKEN.exec(v);
    if (o) lastOffsets.push(parseInt(o[1]!, 10));
  }
  for (const v of fields.dayOfWeek) {
    if (typeof v === 'number') { spec.dowMask |= 1 << (v % 7); continue; }
    const n = DOW_NTH_TOKEN.exec(v);
    if (n) { nth.push({ weekday: parseInt(n[1]!, 10) % 7, nth: parseInt(n[2]!, 10) }); continue; }
    const l = DOW_LAST_TOKEN.exec(v);
    if (l) lastWeekdays.push(parseInt(l[1]!, 10) % 7);
  }
  if (lastOffsets.length > 0) spec.domLastOffsets = lastOffsets;
  if (nearest.length > 0) spec.domNearestWeekday = nearest;
  if (nth.length > 0) spec.dowNth = nth;
  if (lastWeekdays.length > 0) spec.dowLast = lastWeekdays;
  return spec;
}

/** Bit d (1..31) set when day d of the month matches both day fields. */
function monthDayMask(spec: DaySpec, year: number, month: number): number {
  const last = daysInMonth(year, month);
  let dom = spec.domMask;
  if (spec.domLast) dom |= 1 << last;
  for (const n of spec.domLastOffsets) if (last - n >= 1) dom |= 1 << (last - n);
  for (const t of spec.domNearestWeekday) {
    const d = nearestWeekday(year, month, t, last);
    if (d > 0) dom |= 1 << d;
  }
  if (spec.domLastWeekday) dom |= 1 << nearestWeekday(year, month, last, last);
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  let dow = 0;
  const plainOnly = spec.dowNth.length === 0 && spec.dowLast.length === 0;
  for (let d = 1; d <= last; d++) {
    const wd = (firstWeekday + d - 1) % 7;
    if (spec.dowMask & (1 << wd)) { dow |= 1 << d; continue; }
    if (plainOnly) continue;
    let hit = false;
    for (const x of spec.dowNth) if (x.weekday === wd && Math.floor((d - 1) / 7) + 1 === x.nth) hit = true;
    for (const x of spec.dowLast) if (x === wd && d + 7 > last) hit = true;
    if (hit) dow |= 1 << d;
  }
  // Bit 0 and bits past the month's end are never days.
  const inMonth = last === 31 ? 0xfffffffe : ((1 << (last + 1)) - 1) & ~1;
  return dom & dow & inMonth;
}

export interface ScheduleOptions {
  timezone?: string | undefined;
}

/**
 * Field value lists come from the expression parser's per-field cache, so the same list object recurs
 * across tasks; its masks and day spec are memoised on it.
 */
const maskMemo = new WeakMap<readonly unknown[], [number, number]>();
function masks(values: readonly number[]): [number, number] {
  let m = maskMemo.get(values);
  if (!m) {
    m = [mask32(values), mask32(values, 32, 28)];
    maskMemo.set(values, m);
  }
  return m;
}
const dayMemo = new WeakMap<readonly unknown[], WeakMap<readonly unknown[], DaySpec>>();
function daySpec(fields: ParsedFields): DaySpec {
  let inner = dayMemo.get(fields.dayOfMonth);
  if (!inner) {
    inner = new WeakMap();
    dayMemo.set(fields.dayOfMonth, inner);
  }
  let spec = inner.get(fields.dayOfWeek);
  if (!spec) {
    spec = compileDays(fields);
    inner.set(fields.dayOfWeek, spec);
  }
  return spec;
}

/** Shared scratch for field extraction; the engine is synchronous, so one instance is enough. */
const scratch = new Date(0);

export class CronSchedule {
  readonly expression: string;
  readonly zone: TimeZone;
  private readonly secLo: number;
  private readonly secHi: number;
  private readonly minLo: number;
  private readonly minHi: number;
  private readonly hourMask: number;
  private readonly monthMask: number;
  private readonly days: DaySpec;
  private maskKey = -1;
  private mask = 0;

  constructor(expression: string, opts: ScheduleOptions = {}) {
    const result = analyseExpression(expression);
    if (!result.valid) {
      const e = result.errors[0]!;
      const argument = e.field === 'expression' ? 'expression' : `expression (${e.field})`;
      throw new InvalidArgumentError(argument, e.value ?? expression, e.message);
    }
    const fields = result.fields!;
    this.expression = expression;
    this.zone = TimeZone.of(opts.timezone);
    [this.secLo, this.secHi] = masks(fields.second);
    [this.minLo, this.minHi] = masks(fields.minute);
    this.hourMask = masks(fields.hour)[0];
    this.monthMask = masks(fields.month)[0];
    this.days = daySpec(fields);
  }

  /** The expanded fields, as node-cron's parse() returns them (recomputed: rarely asked for, not worth keeping). */
  get fields(): ParsedFields {
    return validateExpression(this.expression).fields!;
  }

  private dayMask(year: number, month: number): number {
    const key = year * 16 + month;
    if (key !== this.maskKey) {
      this.maskKey = key;
      this.mask = monthDayMask(this.days, year, month);
    }
    return this.mask;
  }

  /** The first matching wall time at or after `wall` (whole seconds), or null within the search horizon. */
  nextWall(wall: number): number | null {
    scratch.setTime(Math.ceil(wall / SECOND) * SECOND);
    let year = scratch.getUTCFullYear();
    let month = scratch.getUTCMonth() + 1;
    let day = scratch.getUTCDate();
    let hour = scratch.getUTCHours();
    let minute = scratch.getUTCMinutes();
    let second = scratch.getUTCSeconds();
    const endYear = year + MAX_YEARS_AHEAD;
    while (year <= endYear) {
      const m = nextBit(this.monthMask, month);
      if (m < 0) { year++; month = 1; day = 1; hour = 0; minute = 0; second = 0; continue; }
      if (m !== month) { month = m; day = 1; hour = 0; minute = 0; second = 0; }
      const d = nextBit(this.dayMask(year, month), day);
      if (d < 0) {
        month++; day = 1; hour = 0; minute = 0; second = 0;
        if (month > 12) { month = 1; year++; }
        continue;
      }
      if (d !== day) { day = d; hour = 0; minute = 0; second = 0; }
      const h = nextBit(this.hourMask, hour);
      if (h < 0) { day++; hour = 0; minute = 0; second = 0; continue; }
      if (h !== hour) { hour = h; minute = 0; second = 0; }
      const mi = nextBit64(this.minLo, this.minHi, minute);
      if (mi < 0) { hour++; minute = 0; second = 0; if (hour > 23) { day++; hour = 0; } continue; }
      if (mi !== minute) { minute = mi; second = 0; }
      const s = nextBit64(this.secLo, this.secHi, second);
      if (s < 0) {
        minute++; second = 0;
        if (minute > 59) { minute = 0; hour++; if (hour > 23) { hour = 0; day++; } }
        continue;
      }
      return Date.UTC(year, month - 1, day, hour, minute, s);
    }
    return null;
  }

  /** The first run strictly after `after` (an instant in ms); runs are on whole seconds. */
  nextAfter(after: number): number | null {
    const base = Math.floor(after / SECOND) * SECOND;
    let wall = this.zone.toWall(base) + SECOND;
    for (let guard = 0; guard < 1000; guard++) {
      const w = this.nextWall(wall);
      if (w === null) return null;
      const instant = this.zone.toInstant(w);
      if (instant !== null && instant > base) return instant;
      wall = w + SECOND;
    }
    return null;
  }

  nextRuns(after: number, count: number): number[] {
    const out: number[] = [];
    let from = after;
    for (let i = 0; i < count; i++) {
      const next = this.nextAfter(from);
      if (next === null) break;
      out.push(next);
      from = next;
    }
    return out;
  }

  /** Whether the instant's local time (to the second) matches the expression. */
  match(instant: number): boolean {
    scratch.setTime(this.zone.toWall(instant));
    const second = scratch.getUTCSeconds();
    const minute = scratch.getUTCMinutes();
    const bit = (lo: number, hi: number, v: number): boolean => ((v < 32 ? lo >>> v : hi >>> (v - 32)) & 1) === 1;
    return bit(this.secLo, this.secHi, second)
      && bit(this.minLo, this.minHi, minute)
      && ((this.hourMask >>> scratch.getUTCHours()) & 1) === 1
      && ((this.monthMask >>> (scratch.getUTCMonth() + 1)) & 1) === 1
      && ((this.dayMask(scratch.getUTCFullYear(), scratch.getUTCMonth() + 1) >>> scratch.getUTCDate()) & 1) === 1;
  }
}
