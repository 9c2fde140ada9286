import { intFlag, parseCommand, printJson, type Io } from './args.js';
import { ExitCode, usageError } from './errors.js';
import { formatTable } from './table.js';

const STATES = ['wait', 'active', 'prioritized', 'delayed', 'completed', 'failed', 'waiting-children'] as const;

interface QueueSummary {
  name: string;
  paused: boolean;
  counts: Record<(typeof STATES)[number], number>;
}

interface JobView {
  id: string;
  name: string;
  state: string;
  attemptsMade: number;
  timestamp: number;
  failedReason: string | null;
}

interface JobPage {
  total: number;
  jobs: JobView[];
}

export const JOBS_USAGE = `Usage:
  railyard jobs counts [QUEUE]
  railyard jobs list QUEUE [--state wait|active|prioritized|delayed|completed|failed|waiting-children] [--start N] [--limit N]
  railyard jobs retry QUEUE JOB-ID [--reset-attempts]
  railyard jobs clean QUEUE --state STATE [--grace MS] [--limit N]
      removes jobs in STATE older than MS milliseconds (default 0), at most N (default all)
`;

export async function jobsCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...more] = argv;
  // `--help` in place of a command asks for help.
  const [sub, rest] = first === '-h' || first === '--help' ? [undefined, ['--help', ...more]] : [first, more];
  const p = parseCommand(
    rest,
    { state: { type: 'string' }, start: { type: 'string' }, limit: { type: 'string' }, grace: { type: 'string' }, 'reset-attempts': { type: 'boolean' } },
    io,
  );
  if (sub === undefined || p.help) {
    io.stdout.write(JOBS_USAGE);
    return sub === undefined && !p.help ? ExitCode.USAGE : ExitCode.OK;
  }
  const enc = encodeURIComponent;
  switch (sub) {
    case 'counts': {
      if (p.positionals.length > 1) throw usageError('jobs counts takes at most one queue name');
      const client = p.client();
      const queues =
        p.positionals.length === 1
          ? [await client.request<QueueSummary>('GET', `/api/jobs/queues/${enc(p.positionals[0]!)}`)]
          : (await client.request<{ queues: QueueSummary[] }>('GET', '/api/jobs/queues')).queues;
      if (p.json) printJson(io, queues);
      else {
        const headers = ['QUEUE', ...STATES.map((s) => s.toUpperCase()), 'PAUSED'];
        io.stdout.write(formatTable(headers, queues.map((q) => [q.name, ...STATES.map((s) => q.counts[s] ?? 0), q.paused ? 'yes' : 'no'])));
      }
      return ExitCode.OK;
    }
    case 'list': {
      if (p.positionals.length !== 1) throw usageError('jobs list takes exactly one queue name');
      const state = (p.values.state as string | undefined) ?? 'wait';
      if (!(STATES as readonly string[]).includes(state)) throw usageError(`--state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`);
      const start = intFlag(p.values, 'start', 0) ?? 0;
      const limit = intFlag(p.values, 'limit', 1, 1000) ?? 50;
      const page = await p.client().request<JobPage>('GET', `/api/jobs/queues/${enc(p.positionals[0]!)}/jobs?state=${state}&start=${start}&limit=${limit}`);
      if (p.json) printJson(io, page);
      else {
        io.stdout.write(
          formatTable(
            ['ID', 'NAME', 'STATE', 'ATTEMPTS', 'CREATED', 'FAILED-REASON'],
            page.jobs.map((j) => [j.id, j.name, j.state, j.attemptsMade, new Date(j.timestamp).toISOString(), j.failedReason]),
          ),
        );
        io.stdout.write(`${page.jobs.length} of ${page.total} ${state} jobs (from ${start})\n`);
      }
      return ExitCode.OK;
    }
    case 'retry': {
      if (p.positionals.length !== 2) throw usageError('jobs retry takes a queue name and a job id');
      const [queue, id] = p.positionals as [string, string];
      const res = await p.client().request<{ id: string; state: string }>('POST', `/api/jobs/queues/${enc(queue)}/jobs/${enc(id)}/retry`, {
        resetAttempts: p.values['reset-attempts'] === true,
      });
      if (p.json) printJson(io, res);
      else io.stdout.write(`job ${res.id} of ${queue} is ${res.state} again\n`);
      return ExitCode.OK;
    }
    case 'clean': {
      if (p.positionals.length !== 1) throw usageError('jobs clean takes exactly one queue name');
      const state = p.values.state as string | undefined;
      if (state === undefined) throw usageError('jobs clean needs --state');
      if (!(STATES as readonly string[]).includes(state)) throw usageError(`--state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`);
      const body = { state, graceMs: intFlag(p.values, 'grace', 0) ?? 0, limit: intFlag(p.values, 'limit', 0) ?? 0 };
      const res = await p.client().request<{ removed: string[] }>('POST', `/api/jobs/queues/${enc(p.positionals[0]!)}/clean`, body);
      if (p.json) printJson(io, res);
      else io.stdout.write(`removed ${res.removed.length} ${state} job${res.removed.length === 1 ? '' : 's'} from ${p.positionals[0]}\n`);
      return ExitCode.OK;
    }
    default:
      throw usageError(`unknown jobs command ${JSON.stringify(sub)}\n\n${JOBS_USAGE}`);
  }
}
