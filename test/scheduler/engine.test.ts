import { afterEach, describe, expect, it, vi } from 'vitest';
import nodeCron from 'node-cron';
import { CronExpressionParser } from 'cron-parser';
import { CronSchedule } from '../../src/scheduler/schedule.js';
import { validateExpression } from '../../src/scheduler/expression.js';
import { TimeZone } from '../../src/scheduler/timezone.js';
import { InvalidArgumentError } from '../../src/errors.js';

nodeCron.setLogger({ info() {}, warn() {}, error() {}, debug() {} });

/** node-cron's own next runs, through its public API, from a given instant. */
function nodeCronRuns(expression: string, timezone: string, fromIso: string, count: number): string[] {
  vi.useFakeTimers({ now: Date.parse(fromIso), toFake: ['Date'] });
  try {
    const task = nodeCron.createTask(expression, () => undefined, { timezone });
    const runs = task.getNextRuns(count).map((d) => d.toISOString());
    void task.destroy();
    return runs;
  } finally {
    vi.useRealTimers();
  }
}

function ourRuns(expression: string, timezone: string, fromIso: string, count: number): string[] {
  return new CronSchedule(expression, { timezone }).nextRuns(Date.parse(fromIso), count).map((t) => new Date(t).toISOString());
}

afterEach(() => {
  vi.useRealTimers();
});

describe('DST rule, 2026 transitions, against node-cron 4.6', () => {
  it('skips a daily slot in the New York spring-forward gap', () => {
    const runs = ourRuns('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 3);
    expect(runs).toEqual(['2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z', '2026-03-11T06:30:00.000Z']);
    expect(runs).toEqual(nodeCronRuns('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 3));
  });

  it('runs the New York repeated hour once, in daylight time (first pass)', () => {
    const runs = ourRuns('*/30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', 5);
    // 01:00 and 01:30 EDT run; the EST pass through 01:00-01:59 does not.
    expect(runs).toEqual(['2026-11-01T04:30:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T07:30:00.000Z']);
    expect(runs).toEqual(nodeCronRuns('*/30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', 5));
  });

  it('skips a slot in the London spring-forward gap', () => {
    const runs = ourRuns('30 1 * * *', 'Europe/London', '2026-03-28T12:00:00Z', 2);
    expect(runs).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    expect(runs).toEqual(nodeCronRuns('30 1 * * *', 'Europe/London', '2026-03-28T12:00:00Z', 2));
  });

  it('runs the London repeated hour once, in standard time (second pass)', () => {
    const runs = ourRuns('*/30 * * * *', 'Europe/London', '2026-10-24T23:00:00Z', 5);
    // 00:00 and 00:30 BST run, then 01:00 and 01:30 GMT; the BST pass through 01:xx does not.
    expect(runs).toEqual(['2026-10-24T23:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T02:30:00.000Z']);
    expect(runs).toEqual(nodeCronRuns('*/30 * * * *', 'Europe/London', '2026-10-24T23:00:00Z', 5));
  });

  it('agrees with node-cron on every 2026 transition for a set of expressions', () => {
    const exprs = ['30 2 * * *', '30 1 * * *', '0 * * * *', '15,45 * * * *', '*/10 1-3 * * *', '0 0 * * *'];
    const zones: [string, string[]][] = [
      ['America/New_York', ['2026-03-08T04:00:00Z', '2026-11-01T03:00:00Z', '2026-11-01T05:45:00Z', '2026-11-01T06:15:00Z']],
      ['Europe/London', ['2026-03-28T23:00:00Z', '2026-10-24T22:00:00Z', '2026-10-25T00:15:00Z', '2026-10-25T01:10:00Z']],
    ];
    for (const [zone, starts] of zones) {
      for (const e of exprs) {
        for (const start of starts) {
          expect(ourRuns(e, zone, start, 6), `${zone} ${e} ${start}`).toEqual(nodeCronRuns(e, zone, start, 6));
        }
      }
    }
  });
});

describe('next-run computation', () => {
  it('matches node-cron on a randomised corpus of its syntax, zones and start times', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const seconds = ['0', '*/15', '5,35', '0-10/5'];
    const minutes = ['*', '0', '*/7', '15-45/10', '59'];
    const hours = ['*', '0', '9-17', '22-2', '*/6'];
    const doms = ['*', '1', '15', 'L', 'L-3', '15W', 'LW', '1W', '31', '?', '10-20'];
    const months = ['*', 'JAN-MAR', '2', '*/3', 'NOV-FEB'];
    const dows = ['*', 'MON-FRI', '0', '5L', '1#2', '6#5', 'FRI-MON', '7', '?'];
    const zones = ['UTC', 'America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
    let compared = 0;
    for (let i = 0; i < 120; i++) {
      const expr = [pick(seconds), pick(minutes), pick(hours), pick(doms), pick(months), pick(dows)].join(' ');
      if (!validateExpression(expr).valid) continue;
      const zone = pick(zones);
      const start = new Date(Date.UTC(2026, rnd(12), 1 + rnd(28), rnd(24), rnd(60), rnd(60))).toISOString();
      let theirs: string[] | undefined;
      try {
        theirs = nodeCronRuns(expr, zone, start, 4);
      } catch {
        // node-cron throws when no match exists within ~100 years; we return fewer runs.
        expect(ourRuns(expr, zone, start, 4).length, expr).toBeLessThan(4);
        continue;
      }
      expect(ourRuns(expr, zone, start, 4), `${expr} ${zone} ${start}`).toEqual(theirs);
      compared++;
    }
    expect(compared).toBeGreaterThan(80);
  });

  it('agrees with cron-parser where both use the same semantics (plain fields, UTC)', () => {
    for (const expr of ['*/5 * * * *', '0 9 * * 1-5', '30 2 1 * *', '0 0 1 1 *', '15 10 * * 0', '0 */4 * 6 *']) {
      const from = Date.parse('2026-02-27T13:14:15Z');
      const it = CronExpressionParser.parse(expr, { currentDate: new Date(from), tz: 'UTC' });
      const theirs = Array.from({ length: 5 }, () => it.next().getTime());
      expect(new CronSchedule(expr, { timezone: 'UTC' }).nextRuns(from, 5), expr).toEqual(theirs);
    }
  });

  it('matches the same expansion and errors as node-cron validateDetailed', () => {
    const corpus = ['* * * * *', '*/5 1,2,3 * * *', '0 0 L * *', '0 0 l-2 * *', '0 0 15w * *', '0 0 lw * *', '0 0 * * 5l', '0 0 * * 7#1',
      '0 0 ? * MON-FRI', '@weekly', '@ANNUALLY', '0 22-2 * * *', '0 0 * dec-feb sun-tue', '0 0 * * 7', '1,1 * * * * *', '5/15 * * * *',
      '0 0 31 2 *', '0 0 30 FEB,APR *', '0 0 W * *', '0 0 * * 1#6', '61 * * * *', '* * *', 'x * * * *', '0 0 1-40/0 * *', '0 0 L-31 * *',
      '0 0 32W * *', '0 0 * * 0-7', '0 0 * * 5-2', '0 0 1 JANUARY *', '0 0 * * 2#3,5L,1'];
    for (const e of corpus) expect(validateExpression(e), e).toEqual(nodeCron.validateDetailed(e));
  });

  it('never matches an expression with no possible date, within the search horizon', () => {
    // Feb 30 is rejected by validation; the 5th Monday of February only exists in leap years with Feb 1 on a Monday.
    const s = new CronSchedule('0 0 0 * 2 1#5', { timezone: 'UTC' });
    expect(new Date(s.nextAfter(Date.parse('2026-01-01T00:00:00Z'))!).toISOString()).toBe('2044-02-29T00:00:00.000Z');
  });

  it('names the field and value of an invalid expression or zone', () => {
    expect(() => new CronSchedule('0 0 * * MON#9')).toThrow(InvalidArgumentError);
    expect(() => new CronSchedule('* * * *')).toThrow(/expression/);
    expect(() => new CronSchedule('* * * * *', { timezone: 'Nowhere/Special' })).toThrow(/timezone: "Nowhere\/Special"/);
  });

  it('formats local ISO times with the offset in effect', () => {
    expect(TimeZone.of('America/New_York').localIso(Date.parse('2026-03-08T07:00:00Z'))).toBe('2026-03-08T03:00:00.000-04:00');
    expect(TimeZone.of('Asia/Kolkata').localIso(Date.parse('2026-03-08T07:00:00Z'))).toBe('2026-03-08T12:30:00.000+05:30');
    expect(TimeZone.of('UTC').localIso(Date.parse('2026-03-08T07:00:00Z'))).toBe('2026-03-08T07:00:00.000Z');
  });
});
