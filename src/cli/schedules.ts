import { parseCommand, printJson, type Io } from './args.js';
import { ExitCode, usageError } from './errors.js';
import { formatTable } from './table.js';

interface ScheduleView {
  name: string;
  expression: string;
  timezone: string | null;
  target: { type: string; topic?: string; exchange?: string; queue?: string };
  enabled: boolean;
  nextRunAt: string | null;
  lastError: string | null;
  runs: number;
}

export const SCHEDULES_USAGE = `Usage:
  railyard schedules list
`;

function targetText(t: ScheduleView['target']): string {
  const where = t.topic ?? t.exchange ?? t.queue;
  return where === undefined ? t.type : `${t.type}:${where}`;
}

export async function schedulesCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...more] = argv;
  // `--help` in place of a command asks for help.
  const [sub, rest] = first === '-h' || first === '--help' ? [undefined, ['--help', ...more]] : [first, more];
  const p = parseCommand(rest, {}, io);
  if (sub === undefined || p.help) {
    io.stdout.write(SCHEDULES_USAGE);
    return sub === undefined && !p.help ? ExitCode.USAGE : ExitCode.OK;
  }
  if (sub !== 'list') throw usageError(`unknown schedules command ${JSON.stringify(sub)}\n\n${SCHEDULES_USAGE}`);
  if (p.positionals.length > 0) throw usageError('schedules list takes no arguments');
  const { schedules } = await p.client().request<{ schedules: ScheduleView[] }>('GET', '/api/schedules');
  if (p.json) printJson(io, schedules);
  else {
    io.stdout.write(
      formatTable(
        ['NAME', 'EXPRESSION', 'TIMEZONE', 'TARGET', 'ENABLED', 'NEXT-RUN', 'RUNS', 'LAST-ERROR'],
        schedules.map((s) => [s.name, s.expression, s.timezone, targetText(s.target), s.enabled ? 'yes' : 'no', s.nextRunAt, s.runs, s.lastError]),
      ),
    );
  }
  return ExitCode.OK;
}
