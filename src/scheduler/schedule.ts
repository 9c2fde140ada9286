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
  validateExpression,
  type ParsedFields,
} from './expression.js';
import { TimeZone } from './timezone.js';

const SECOND = 1000;
/** node-cron gives up after about a century; an expression that never matches ends here too. */
const MAX_YEARS_AHEAD = 100;

/** For each value v, the smallest allowed value >= v, or -1. */
function nextTable(values: Iterable<number>, size: number): Int8Array {
  const allowed = new Uint8Array(size);
  for (const v of values) if (v >= 0 && v < size) allowed[v] = 1;
  const table = new Int8Array(size + 1).fill(-1);
  for (let v = size - 1; v >= 0; v--) table[v] = allowed[v] ? v : table[v + 1]!;
  return table;
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

interface DaySpec {
  /** Bit d set: plain day-of-month d allowed (bits 1..31). */
  domMask: number;
  domLast: boolean;
  domLastOffsets: number[];
  domNearestWeekday: number[];
  domLastWeekday: boolean;
  /** Bit w set: weekday w allowed every week. */
  dowMask: number;
  dowNth: { weekday: number; nth: number }[];
  dowLast: number[];
}

function compileDays(fields: ParsedFields): DaySpec {
  const spec: DaySpec = {
    domMask: 0, domLast: false, domLastOffsets: [], domNearestWeekday: [], domLastWeekday: false,
    dowMask: 0, dowNth: [], dowLast: [],
  };
  for (const v of fields.dayOfMonth) {
    if (typeof v === 'number') { spec.domMask |= 1 << v; continue; }
    if (v === 'L') { spec.domLast = true; continue; }
    const w = DOM_WEEKDAY_TOKEN.exec(v);
    if (w) {
      if (w[1]!.toUpperCase() === 'L') spec.domLastWeekday = true;
      else spec.domNearestWeekday.push(parseInt(w[1]!, 10));
      continue;
    }
    const o = DOM_OFFSET_TOKEN.exec(v);
    if (o) spec.domLastOffsets.push(parseInt(o[1]!, 10));
  }
  for (const v of fields.dayOfWeek) {
    if (typeof v === 'number') { spec.dowMask |= 1 << (v % 7); continue; }
    const n = DOW_NTH_TOKEN.exec(v);
    if (n) { spec.dowNth.push({ weekday: parseInt(n[1]!, 10) % 7, nth: parseInt(n[2]!, 10) }); continue; }
    const l = DOW_LAST_TOKEN.exec(v);
    if (l) spec.dowLast.push(parseInt(l[1]!, 10) % 7);
  }
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
  for (let d = 1; d <= last; d++) {
    const wd = (firstWeekday + d - 1) % 7;
    if (spec.dowMask & (1 << wd)) { dow |= 1 << d; continue; }
    let hit = false;
    for (const x of spec.dowNth) if (x.weekday === wd && Math.floor((d - 1) / 7) + 1 === x.nth) hit = true;
    for (const x of spec.dowLast) if (x === wd && d + 7 > last) hit = true;
    if (hit) dow |= 1 << d;
  }
  // Bit 0 and bits past the month's end are never days.
  const inMonth = last === 31 ? 0xfffffffe : ((1 << (last + 1)) - 1) & ~1;
  return dom & dow & inMonth;
}

/** Lowest set bit at position >= from, or -1. */
function nextBit(mask: number, from: number): number {
  if (from > 31) return -1;
  const m = from === 0 ? mask : (mask >>> from) << from;
  if (m === 0) return -1;
  return 31 - Math.clz32(m & -m);
}

export interface ScheduleOptions {
  timezone?: string | undefined;
}

export class CronSchedule {
  readonly expression: string;
  readonly fields: ParsedFields;
  readonly zone: TimeZone;
  private readonly seconds: Int8Array;
  private readonly minutes: Int8Array;
  private readonly hours: Int8Array;
  private readonly months: Int8Array;
  private readonly days: DaySpec;
  private maskYear = -1;
  private maskMonth = -1;
  private mask = 0;
  private readonly scratch = new Date(0);

  constructor(expression: string, opts: ScheduleOptions = {}) {
    const result = validateExpression(expression);
    if (!result.valid) {
      const e = result.errors[0]!;
      const argument = e.field === 'expression' ? 'expression' : `expression (${e.field})`;
      throw new InvalidArgumentError(argument, e.value ?? expression, e.message);
    }
    this.expression = expression;
    this.fields = result.fields!;
    this.zone = TimeZone.of(opts.timezone);
    this.seconds = nextTable(this.fields.second, 60);
    this.minutes = nextTable(this.fields.minute, 60);
    this.hours = nextTable(this.fields.hour, 24);
    this.months = nextTable(this.fields.month, 13);
    this.days = compileDays(this.fields);
  }

  private dayMask(year: number, month: number): number {
    if (year !== this.maskYear || month !== this.maskMonth) {
      this.maskYear = year;
      this.maskMonth = month;
      this.mask = monthDayMask(this.days, year, month);
    }
    return this.mask;
  }

  /** The first matching wall time at or after `wall` (whole seconds), or null within the search horizon. */
  nextWall(wall: number): number | null {
    const d0 = this.scratch;
    d0.setTime(Math.ceil(wall / SECOND) * SECOND);
    let year = d0.getUTCFullYear();
    let month = d0.getUTCMonth() + 1;
    let day = d0.getUTCDate();
    let hour = d0.getUTCHours();
    let minute = d0.getUTCMinutes();
    let second = d0.getUTCSeconds();
    const endYear = year + MAX_YEARS_AHEAD;
    while (year <= endYear) {
      const m = this.months[month]!;
      if (m < 0) { year++; month = 1; day = 1; hour = 0; minute = 0; second = 0; continue; }
      if (m !== month) { month = m; day = 1; hour = 0; minute = 0; second = 0; }
      const d = nextBit(this.dayMask(year, month), day);
      if (d < 0) {
        month++; day = 1; hour = 0; minute = 0; second = 0;
        if (month > 12) { month = 1; year++; }
        continue;
      }
      if (d !== day) { day = d; hour = 0; minute = 0; second = 0; }
      const h = this.hours[hour]!;
      if (h < 0) { day++; hour = 0; minute = 0; second = 0; continue; }
      if (h !== hour) { hour = h; minute = 0; second = 0; }
      const mi = this.minutes[minute]!;
      if (mi < 0) { hour++; minute = 0; second = 0; if (hour > 23) { day++; hour = 0; } continue; }
      if (mi !== minute) { minute = mi; second = 0; }
      const s = this.seconds[second]!;
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
    const wall = this.zone.toWall(instant);
    const d = this.scratch;
    d.setTime(wall);
    return this.seconds[d.getUTCSeconds()] === d.getUTCSeconds()
      && this.minutes[d.getUTCMinutes()] === d.getUTCMinutes()
      && this.hours[d.getUTCHours()] === d.getUTCHours()
      && this.months[d.getUTCMonth() + 1] === d.getUTCMonth() + 1
      && (this.dayMask(d.getUTCFullYear(), d.getUTCMonth() + 1) & (1 << d.getUTCDate())) !== 0;
  }
}

