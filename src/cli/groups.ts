import { parseCommand, printJson, type Io } from './args.js';
import { ExitCode, usageError } from './errors.js';
import { formatTable } from './table.js';

interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
  members: number;
  lag: number;
}

interface OffsetLag {
  topic: string;
  partition: number;
  committedOffset: number;
  logEndOffset: number | null;
  lag: number | null;
}

interface Member {
  memberId: string;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

interface GroupDetail {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  generationId: number;
  members: Member[];
  offsets: OffsetLag[];
  lag: number;
}

interface ResetResult {
  groupId: string;
  dryRun: boolean;
  offsets: Array<{ topic: string; partition: number; offset: number }>;
}

export const GROUPS_USAGE = `Usage:
  railyard groups list
  railyard groups describe GROUP
  railyard groups reset-offsets GROUP --to-earliest|--to-latest|--to-datetime DATETIME [--topic T]... [--dry-run]
      DATETIME is ISO 8601 (2024-05-01T12:00:00Z) or epoch milliseconds. Without --topic the reset
      covers the topics the group has offsets for. The group must have no active members.
`;

function oneGroup(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw usageError(`${what} takes exactly one group id`);
  return positionals[0]!;
}

function describeRows(g: GroupDetail): Array<Array<string | number | null>> {
  const owner = new Map<string, Member>();
  for (const m of g.members) for (const a of m.assignment) for (const p of a.partitions) owner.set(`${a.topic}\0${p}`, m);
  const rows = g.offsets.map((o) => {
    const m = owner.get(`${o.topic}\0${o.partition}`);
    owner.delete(`${o.topic}\0${o.partition}`);
    return [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag, m?.memberId ?? null, m?.clientId ?? null, m?.clientHost ?? null];
  });
  // Assigned partitions without a committed offset yet.
  for (const [key, m] of owner) {
    const [topic, partition] = key.split('\0') as [string, string];
    rows.push([topic, Number(partition), null, null, null, m.memberId, m.clientId, m.clientHost]);
  }
  return rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1]));
}

export async function groupsCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...more] = argv;
  // `--help` in place of a command asks for help.
  const [sub, rest] = first === '-h' || first === '--help' ? [undefined, ['--help', ...more]] : [first, more];
  const p = parseCommand(
    rest,
    {
      'to-earliest': { type: 'boolean' },
      'to-latest': { type: 'boolean' },
      'to-datetime': { type: 'string' },
      topic: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
    },
    io,
  );
  if (sub === undefined || p.help) {
    io.stdout.write(GROUPS_USAGE);
    return sub === undefined && !p.help ? ExitCode.USAGE : ExitCode.OK;
  }
  const enc = encodeURIComponent;
  switch (sub) {
    case 'list': {
      if (p.positionals.length > 0) throw usageError('groups list takes no arguments');
      const { groups } = await p.client().request<{ groups: GroupListing[] }>('GET', '/api/kafka/groups');
      if (p.json) printJson(io, groups);
      else io.stdout.write(formatTable(['GROUP', 'STATE', 'MEMBERS', 'LAG'], groups.map((g) => [g.groupId, g.state, g.members, g.lag])));
      return ExitCode.OK;
    }
    case 'describe': {
      const id = oneGroup(p.positionals, 'groups describe');
      const g = await p.client().request<GroupDetail>('GET', `/api/kafka/groups/${enc(id)}`);
      if (p.json) {
        printJson(io, g);
        return ExitCode.OK;
      }
      io.stdout.write(`Group: ${g.groupId}  State: ${g.state}  Members: ${g.members.length}  Generation: ${g.generationId}  Lag: ${g.lag}\n\n`);
      io.stdout.write(formatTable(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'CLIENT-ID', 'HOST'], describeRows(g)));
      return ExitCode.OK;
    }
    case 'reset-offsets': {
      const id = oneGroup(p.positionals, 'groups reset-offsets');
      const targets = [p.values['to-earliest'] === true, p.values['to-latest'] === true, p.values['to-datetime'] !== undefined].filter(Boolean).length;
      if (targets !== 1) throw usageError('groups reset-offsets needs exactly one of --to-earliest, --to-latest, --to-datetime');
      const body: Record<string, unknown> = {
        to: p.values['to-earliest'] ? 'earliest' : p.values['to-latest'] ? 'latest' : 'datetime',
        dryRun: p.values['dry-run'] === true,
      };
      const dt = p.values['to-datetime'] as string | undefined;
      if (dt !== undefined) {
        const ms = /^\d+$/.test(dt) ? Number(dt) : Date.parse(dt);
        if (!Number.isFinite(ms)) throw usageError(`--to-datetime must be ISO 8601 or epoch milliseconds, got ${JSON.stringify(dt)}`);
        body.datetime = ms;
      }
      if (p.values.topic !== undefined) body.topics = p.values.topic;
      const res = await p.client().request<ResetResult>('POST', `/api/kafka/groups/${enc(id)}/reset-offsets`, body);
      if (p.json) printJson(io, res);
      else {
        io.stdout.write(formatTable(['TOPIC', 'PARTITION', 'NEW-OFFSET'], res.offsets.map((o) => [o.topic, o.partition, o.offset])));
        io.stdout.write(res.dryRun ? '(dry run: nothing was changed)\n' : `reset ${res.offsets.length} partition${res.offsets.length === 1 ? '' : 's'} of group ${res.groupId}\n`);
      }
      return ExitCode.OK;
    }
    default:
      throw usageError(`unknown groups command ${JSON.stringify(sub)}\n\n${GROUPS_USAGE}`);
  }
}
