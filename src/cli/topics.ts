import { intFlag, parseCommand, printJson, type Io } from './args.js';
import { ExitCode, usageError } from './errors.js';
import { formatBytes, formatTable } from './table.js';

interface PartitionView {
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
}

interface TopicView {
  name: string;
  id: string;
  partitions: PartitionView[];
  records: number;
  sizeBytes: number;
  configs: Record<string, string>;
}

interface ConfigEntry {
  name: string;
  value: string | null;
  isDefault: boolean;
}

export const TOPICS_USAGE = `Usage:
  railyard topics list
  railyard topics create NAME [--partitions N] [--config KEY=VALUE]...
  railyard topics delete NAME
  railyard topics describe NAME
`;

function configPairs(raw: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--config must be KEY=VALUE, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function oneName(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw usageError(`${what} takes exactly one topic name`);
  return positionals[0]!;
}

export async function topicsCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...more] = argv;
  // `topics --help` asks for help, not for a command called --help.
  const [sub, rest] = first === '-h' || first === '--help' ? [undefined, ['--help', ...more]] : [first, more];
  const p = parseCommand(rest, { partitions: { type: 'string' }, config: { type: 'string', multiple: true } }, io);
  if (sub === undefined || p.help) {
    io.stdout.write(TOPICS_USAGE);
    return sub === undefined && !p.help ? ExitCode.USAGE : ExitCode.OK;
  }
  const enc = encodeURIComponent;
  switch (sub) {
    case 'list': {
      if (p.positionals.length > 0) throw usageError('topics list takes no arguments');
      const { topics } = await p.client().request<{ topics: TopicView[] }>('GET', '/api/kafka/topics');
      if (p.json) printJson(io, topics);
      else io.stdout.write(formatTable(['TOPIC', 'PARTITIONS', 'RECORDS', 'SIZE'], topics.map((t) => [t.name, t.partitions.length, t.records, formatBytes(t.sizeBytes)])));
      return ExitCode.OK;
    }
    case 'create': {
      const name = oneName(p.positionals, 'topics create');
      const partitions = intFlag(p.values, 'partitions', 1) ?? 1;
      const configs = configPairs(p.values.config as string[] | undefined);
      const topic = await p.client().request<TopicView>('POST', '/api/kafka/topics', { name, partitions, configs });
      if (p.json) printJson(io, topic);
      else io.stdout.write(`created topic ${topic.name} with ${topic.partitions.length} partition${topic.partitions.length === 1 ? '' : 's'}\n`);
      return ExitCode.OK;
    }
    case 'delete': {
      const name = oneName(p.positionals, 'topics delete');
      const res = await p.client().request<{ deleted: string }>('DELETE', `/api/kafka/topics/${enc(name)}`);
      if (p.json) printJson(io, res);
      else io.stdout.write(`deleted topic ${res.deleted}\n`);
      return ExitCode.OK;
    }
    case 'describe': {
      const name = oneName(p.positionals, 'topics describe');
      const t = await p.client().request<TopicView & { effectiveConfigs: ConfigEntry[] }>('GET', `/api/kafka/topics/${enc(name)}`);
      if (p.json) {
        printJson(io, t);
        return ExitCode.OK;
      }
      io.stdout.write(`Topic: ${t.name}  Id: ${t.id}  Partitions: ${t.partitions.length}  Records: ${t.records}  Size: ${formatBytes(t.sizeBytes)}\n\n`);
      io.stdout.write(formatTable(['PARTITION', 'START-OFFSET', 'END-OFFSET', 'SIZE'], t.partitions.map((x) => [x.partition, x.logStartOffset, x.logEndOffset, formatBytes(x.sizeBytes)])));
      io.stdout.write('\n');
      io.stdout.write(formatTable(['CONFIG', 'VALUE', 'SOURCE'], t.effectiveConfigs.map((c) => [c.name, c.value, c.isDefault ? 'default' : c.name in t.configs ? 'topic' : 'broker'])));
      return ExitCode.OK;
    }
    default:
      throw usageError(`unknown topics command ${JSON.stringify(sub)}\n\n${TOPICS_USAGE}`);
  }
}
