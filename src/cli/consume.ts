import { intFlag, parseCommand, printJson, type Io } from './args.js';
import type { ApiClient } from './api-client.js';
import { ExitCode, usageError } from './errors.js';

export const CONSUME_USAGE = `Usage: railyard consume TOPIC [--partition N] [--offset N|earliest|latest] [--max-messages N] [--print-key]
  Prints the records of every partition (or one) from the offset (default earliest) up to the end
  the log had when the command started, one value per line (KEY<TAB>VALUE with --print-key), then exits.
  Consuming does not join a group or commit offsets.
`;

interface TopicView {
  partitions: Array<{ partition: number; logStartOffset: number; logEndOffset: number }>;
}

interface RecordView {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

interface Page {
  records: RecordView[];
  nextOffset: number;
}

const PAGE = 500;

export async function consumeCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, { partition: { type: 'string' }, offset: { type: 'string' }, 'max-messages': { type: 'string' }, 'print-key': { type: 'boolean' } }, io);
  if (p.help) {
    io.stdout.write(CONSUME_USAGE);
    return ExitCode.OK;
  }
  if (p.positionals.length !== 1) throw usageError('consume takes exactly one topic name');
  const topic = p.positionals[0]!;
  const only = intFlag(p.values, 'partition', 0, 2 ** 31 - 1);
  const max = intFlag(p.values, 'max-messages', 1) ?? Infinity;
  const offsetFlag = (p.values.offset as string | undefined) ?? 'earliest';
  if (offsetFlag !== 'earliest' && offsetFlag !== 'latest' && !/^\d+$/.test(offsetFlag)) {
    throw usageError(`--offset must be earliest, latest or an offset, got ${JSON.stringify(offsetFlag)}`);
  }
  const client = p.client();
  const base = `/api/kafka/topics/${encodeURIComponent(topic)}`;
  const t = await client.request<TopicView>('GET', base);
  const partitions = only === undefined ? t.partitions : t.partitions.filter((x) => x.partition === only);
  if (partitions.length === 0) throw usageError(`topic ${topic} has no partition ${only}`);

  const out: Array<RecordView & { partition: number }> = [];
  let printed = 0;
  for (const part of partitions) {
    let offset = offsetFlag === 'earliest' ? part.logStartOffset : offsetFlag === 'latest' ? part.logEndOffset : Math.max(Number(offsetFlag), part.logStartOffset);
    const end = part.logEndOffset;
    if (offset > end) continue;
    while (offset < end && printed < max) {
      const page = await readPage(client, base, part.partition, offset, Math.min(PAGE, max - printed));
      for (const r of page.records) {
        if (r.offset >= end || printed >= max) break;
        printed++;
        if (p.json) out.push({ partition: part.partition, ...r });
        else io.stdout.write((p.values['print-key'] ? `${r.key ?? 'null'}\t` : '') + `${r.value ?? 'null'}\n`);
      }
      if (page.nextOffset <= offset) break;
      offset = page.nextOffset;
    }
  }
  if (p.json) printJson(io, { topic, records: out });
  return ExitCode.OK;
}

function readPage(client: ApiClient, base: string, partition: number, offset: number, limit: number): Promise<Page> {
  return client.request<Page>('GET', `${base}/partitions/${partition}/records?offset=${offset}&limit=${limit}`);
}
