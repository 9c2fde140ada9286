import { intFlag, parseCommand, printJson, type Io, type Parsed } from './args.js';
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
  railyard schedules add NAME --cron EXPR TARGET [--timezone TZ] [--catch-up skip|once] [--disabled]
      TARGET is one of
        --topic T --value V [--key K] [--partition N]         produce a record to a Kafka topic
        --exchange E [--routing-key RK] --body B              publish to an AMQP exchange ('' = default)
        --queue Q --job NAME [--data JSON]                    add a job to a job queue
      {{slot}} (ISO time of the slot) and {{name}} are replaced in values, bodies and job data.
  railyard schedules remove NAME
`;

const ADD_OPTIONS = {
  cron: { type: 'string' },
  timezone: { type: 'string' },
  'catch-up': { type: 'string' },
  disabled: { type: 'boolean' },
  topic: { type: 'string' },
  value: { type: 'string' },
  key: { type: 'string' },
  partition: { type: 'string' },
  exchange: { type: 'string' },
  'routing-key': { type: 'string' },
  body: { type: 'string' },
  queue: { type: 'string' },
  job: { type: 'string' },
  data: { type: 'string' },
} as const;

function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Builds the schedule target from exactly one of the three flag groups. */
function targetFromFlags(values: Record<string, unknown>): Record<string, unknown> {
  const kinds = [str(values, 'topic') !== undefined, str(values, 'exchange') !== undefined, str(values, 'queue') !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw usageError('give exactly one target: --topic, --exchange or --queue');
  const topic = str(values, 'topic');
  if (topic !== undefined) {
    const value = str(values, 'value');
    if (value === undefined) throw usageError('--topic needs --value');
    const partition = intFlag(values as Parsed['values'], 'partition', 0);
    return { type: 'kafka', topic, value, key: str(values, 'key'), partition };
  }
  const exchange = str(values, 'exchange');
  if (exchange !== undefined) {
    const body = str(values, 'body');
    if (body === undefined) throw usageError('--exchange needs --body');
    return { type: 'amqp', exchange, routingKey: str(values, 'routing-key'), body };
  }
  const job = str(values, 'job');
  if (job === undefined) throw usageError('--queue needs --job');
  const dataText = str(values, 'data');
  let data: unknown;
  if (dataText !== undefined) {
    try {
      data = JSON.parse(dataText);
    } catch {
      throw usageError(`--data must be JSON, got ${JSON.stringify(dataText)}`);
    }
  }
  return { type: 'job', queue: str(values, 'queue'), name: job, data };
}

async function addSchedule(p: Parsed, io: Io): Promise<number> {
  if (p.positionals.length !== 1) throw usageError(`schedules add takes one NAME\n\n${SCHEDULES_USAGE}`);
  const name = p.positionals[0]!;
  const expression = str(p.values, 'cron');
  if (expression === undefined) throw usageError('schedules add needs --cron EXPR');
  const catchUp = str(p.values, 'catch-up');
  if (catchUp !== undefined && catchUp !== 'skip' && catchUp !== 'once') throw usageError(`--catch-up must be skip or once, got ${JSON.stringify(catchUp)}`);
  const body = { expression, timezone: str(p.values, 'timezone'), catchUp, enabled: p.values.disabled === true ? false : undefined, target: targetFromFlags(p.values) };
  const saved = await p.client().request<ScheduleView>('PUT', `/api/schedules/${encodeURIComponent(name)}`, body);
  if (p.json) printJson(io, saved);
  else io.stdout.write(`schedule ${saved.name} (${saved.expression}) -> ${targetText(saved.target)}, next run ${saved.nextRunAt ?? '-'}\n`);
  return ExitCode.OK;
}

async function removeSchedule(p: Parsed, io: Io): Promise<number> {
  if (p.positionals.length !== 1) throw usageError(`schedules remove takes one NAME\n\n${SCHEDULES_USAGE}`);
  const name = p.positionals[0]!;
  await p.client().request<unknown>('DELETE', `/api/schedules/${encodeURIComponent(name)}`);
  if (p.json) printJson(io, { removed: name });
  else io.stdout.write(`schedule ${name} removed\n`);
  return ExitCode.OK;
}

function targetText(t: ScheduleView['target']): string {
  const where = t.topic ?? t.exchange ?? t.queue;
  return where === undefined ? t.type : `${t.type}:${where}`;
}

export async function schedulesCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...more] = argv;
  // `--help` in place of a command asks for help.
  const [sub, rest] = first === '-h' || first === '--help' ? [undefined, ['--help', ...more]] : [first, more];
  const p = parseCommand(rest, sub === 'add' ? ADD_OPTIONS : {}, io);
  if (sub === undefined || p.help) {
    io.stdout.write(SCHEDULES_USAGE);
    return sub === undefined && !p.help ? ExitCode.USAGE : ExitCode.OK;
  }
  if (sub === 'add') return addSchedule(p, io);
  if (sub === 'remove') return removeSchedule(p, io);
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
