/**
 * IANA time zones through Intl, with offsets cached so next-run computation does not pay for
 * `formatToParts` on every call.
 *
 * Wall-clock times are handled as "wall milliseconds": the local date and time encoded as if it were
 * UTC (`Date.UTC(y, m, d, h, mi, s)`), so field arithmetic is plain integer arithmetic.
 *
 * DST rule (node-cron 4.6's behaviour, kept for compatibility):
 * - a wall time inside a spring-forward gap does not exist and is skipped;
 * - a wall time inside a fall-back overlap runs once, at the instant given by the zone offset in
 *   effect at that wall time read as UTC. Zones west of Greenwich (America/New_York) therefore run
 *   the first, daylight-time occurrence; zones at or east of it (Europe/London) the second,
 *   standard-time occurrence. The other pass through the repeated hour does not run.
 */
import { InvalidArgumentError } from '../errors.js';

const MINUTE = 60_000;
/** Transitions fall on quarter hours in every zone in use, so offsets are cached per 15 minutes. */
const BUCKET = 15 * MINUTE;
/**
 * Coarser cache: a week whose start and end have the same offset is taken to have no transition
 * inside (no zone changes offset twice within a week), so one lookup covers it.
 */
const WEEK = 7 * 86_400_000;
const CACHE_LIMIT = 20_000;

export class TimeZone {
  readonly name: string;
  private readonly fixedOffset: number | null;
  private readonly formatter: Intl.DateTimeFormat | null;
  private readonly cache = new Map<number, number>();
  private lastIsoInstant = NaN;
  private lastIso = '';
  /** Week number → its constant offset, or NaN when a transition falls inside it. */
  private readonly weeks = new Map<number, number>();

  private constructor(name: string) {
    this.name = name;
    if (name === 'UTC' || name === 'Etc/UTC' || name === 'GMT' || name === 'Etc/GMT') {
      this.fixedOffset = 0;
      this.formatter = null;
    } else {
      this.fixedOffset = null;
      this.formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: name,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    }
  }

  private static readonly zones = new Map<string, TimeZone>();

  /** `undefined` is the process's own zone, as with node-cron. Throws InvalidArgumentError naming the zone. */
  static of(name: string | undefined, argument = 'timezone'): TimeZone {
    const key = name ?? systemZoneName();
    let zone = TimeZone.zones.get(key);
    if (zone) return zone;
    try {
      zone = new TimeZone(key);
    } catch {
      throw new InvalidArgumentError(argument, name, 'an IANA time zone such as "Europe/London"');
    }
    TimeZone.zones.set(key, zone);
    return zone;
  }

  /** Offset of local time from UTC, in milliseconds, at `instant`. */
  offsetAt(instant: number): number {
    if (this.fixedOffset !== null) return this.fixedOffset;
    const week = Math.floor(instant / WEEK);
    let weekly = this.weeks.get(week);
    if (weekly === undefined) {
      const start = this.bucketOffset(week * WEEK);
      const end = this.bucketOffset((week + 1) * WEEK);
      weekly = start === end ? start : NaN;
      if (this.weeks.size >= CACHE_LIMIT) this.weeks.clear();
      this.weeks.set(week, weekly);
    }
    if (!Number.isNaN(weekly)) return weekly;
    return this.bucketOffset(instant);
  }

  private bucketOffset(instant: number): number {
    const bucket = Math.floor(instant / BUCKET);
    const hit = this.cache.get(bucket);
    if (hit !== undefined) return hit;
    const start = bucket * BUCKET;
    const offset = this.computeOffset(start);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(bucket, offset);
    return offset;
  }

  private computeOffset(instant: number): number {
    const parts = this.formatter!.formatToParts(instant);
    let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    for (const p of parts) {
      switch (p.type) {
        case 'year': y = +p.value; break;
        case 'month': mo = +p.value; break;
        case 'day': d = +p.value; break;
        case 'hour': h = +p.value; break;
        case 'minute': mi = +p.value; break;
        case 'second': s = +p.value; break;
        default: break;
      }
    }
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    return Math.round((wall - instant) / MINUTE) * MINUTE;
  }

  toWall(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /** The instant a wall time maps to under the DST rule above, or null if it falls in a gap. */
  toInstant(wall: number): number | null {
    const first = this.offsetAt(wall);
    const c1 = wall - first;
    const second = this.offsetAt(c1);
    if (second === first) return c1;
    if (this.toWall(c1) === wall) return c1;
    const c2 = wall - second;
    if (this.toWall(c2) === wall) return c2;
    return null;
  }

  /** `2026-03-08T01:30:00.000-05:00`, or `...Z` when local time is UTC (node-cron's `dateLocalIso`). */
  localIso(instant: number): string {
    // Tasks due together share a slot: format it once per batch.
    if (instant === this.lastIsoInstant) return this.lastIso;
    this.lastIsoInstant = instant;
    this.lastIso = this.formatIso(instant);
    return this.lastIso;
  }

  private formatIso(instant: number): string {
    const offset = this.offsetAt(instant);
    const iso = new Date(instant + offset).toISOString().slice(0, 23);
    if (offset === 0) return iso + 'Z';
    const abs = Math.abs(offset) / MINUTE;
    const sign = offset < 0 ? '-' : '+';
    return `${iso}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  }
}

let systemZone: string | undefined;
/** Read once: constructing a DateTimeFormat costs far more than creating a task. */
function systemZoneName(): string {
  systemZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  return systemZone;
}
