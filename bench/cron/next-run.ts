/** Next-run throughput: chained "next after the previous result" calls per second, per library. */
import { Cron } from 'croner';
import { CronExpressionParser } from 'cron-parser';
import { pathToFileURL } from 'node:url';
import { CronSchedule } from '../../src/scheduler/schedule.js';
import { nodeCronSharedModule } from './compiled.js';

interface NodeCronMatcher { getNextMatch(d: Date): Date }
const { T: NodeCronTimeMatcher } = (await import(pathToFileURL(nodeCronSharedModule()).href)) as {
  T: new (expr: string, tz?: string) => NodeCronMatcher;
};

const START = Date.parse('2026-01-15T10:07:00Z');

function rate(step: () => void, ms: number): number {
  for (let i = 0; i < 200; i++) step();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 50; i++) step();
    n += 50;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

export interface NextRunRow { expression: string; timezone: string; railyard: number; croner: number; nodeCron: number; cronParser: number }

export function benchNextRun(msPerCell: number): NextRunRow[] {
  const rows: NextRunRow[] = [];
  // croner writes "last Friday" as 5#L; the rest is common syntax.
  const cases: [string, string][] = [['*/5 * * * *', '*/5 * * * *'], ['0 9 * * 1-5', '0 9 * * 1-5'], ['0 0 L * *', '0 0 L * *'], ['0 12 * * 5L', '0 12 * * 5#L']];
  for (const timezone of ['UTC', 'America/New_York']) {
    for (const [expression, cronerExpr] of cases) {
      const ours = new CronSchedule(expression, { timezone });
      let t = START;
      const railyard = rate(() => { t = ours.nextAfter(t)!; }, msPerCell);
      const c = new Cron(cronerExpr, { paused: true, timezone });
      let d = new Date(START);
      const croner = rate(() => { d = c.nextRun(d)!; }, msPerCell);
      const m = new NodeCronTimeMatcher(expression, timezone);
      let nd = new Date(START);
      const nodeCron = rate(() => { nd = m.getNextMatch(nd); }, msPerCell);
      let it = CronExpressionParser.parse(expression, { currentDate: new Date(START), tz: timezone });
      let count = 0;
      const cronParser = rate(() => {
        // Long chains reach far years; restart periodically so every library covers similar dates.
        if (++count % 1000 === 0) it = CronExpressionParser.parse(expression, { currentDate: new Date(START), tz: timezone });
        it.next();
      }, msPerCell);
      rows.push({ expression, timezone, railyard, croner, nodeCron, cronParser });
    }
  }
  return rows;
}
