import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { intFlag, parseCommand, printJson, type Io } from './args.js';
import type { ApiClient } from './api-client.js';
import { CliError, ExitCode, usageError } from './errors.js';

export const PRODUCE_USAGE = `Usage: railyard produce TOPIC [--file FILE] [--key-separator SEP] [--partition N] [--progress]
  Sends each line of FILE (or standard input) as one record. With --key-separator, the text before
  the first SEP on a line is the record key. Without --partition, keyed records go where Kafka's
  default partitioner puts them and unkeyed ones to one partition per batch. A progress line is
  shown on a terminal (or with --progress) while producing.
`;

/** One self-overwriting status line on stderr. */
class Progress {
  private shown = false;
  constructor(
    private readonly io: Io,
    private readonly totalBytes: number | undefined,
  ) {}

  update(records: number, bytes: number): void {
    const pct = this.totalBytes ? ` (${Math.min(100, Math.floor((bytes / this.totalBytes) * 100))}%)` : '';
    this.io.stderr.write(`\rproduced ${records} records${pct}`);
    this.shown = true;
  }

  end(): void {
    if (this.shown) this.io.stderr.write('\n');
  }
}

/** Records per HTTP call: well under the API's body cap for ordinary lines. */
const BATCH_RECORDS = 1000;
const BATCH_BYTES = 1024 * 1024;

interface ProduceAnswer {
  partitions: Array<{ partition: number; baseOffset: number; lastOffset: number; count: number }>;
}

interface PartitionSummary {
  partition: number;
  firstOffset: number;
  lastOffset: number;
  count: number;
}

export async function produceCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(
    argv,
    { file: { type: 'string' }, 'key-separator': { type: 'string' }, partition: { type: 'string' }, progress: { type: 'boolean' } },
    io,
  );
  if (p.help) {
    io.stdout.write(PRODUCE_USAGE);
    return ExitCode.OK;
  }
  if (p.positionals.length !== 1) throw usageError('produce takes exactly one topic name');
  const topic = p.positionals[0]!;
  const sep = p.values['key-separator'] as string | undefined;
  if (sep === '') throw usageError('--key-separator must not be empty');
  const partition = intFlag(p.values, 'partition', 0, 2 ** 31 - 1);
  const client = p.client();
  const path = `/api/kafka/topics/${encodeURIComponent(topic)}/records`;
  // Fail before reading a large input when the topic is not there.
  await client.request('GET', `/api/kafka/topics/${encodeURIComponent(topic)}`);

  const file = p.values.file as string | undefined;
  const input = file === undefined ? io.stdin : createReadStream(file);
  let progress: Progress | undefined;
  if (p.values.progress === true || io.stderr.isTTY === true) {
    let size: number | undefined;
    try {
      size = file === undefined ? undefined : statSync(file).size;
    } catch {
      // reported by the read below
    }
    progress = new Progress(io, size);
  }
  let readBytes = 0;
  const summary = new Map<number, PartitionSummary>();
  let total = 0;
  let batch: Array<{ key?: string; value: string }> = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const res = await send(client, path, batch, partition);
    for (const r of res.partitions) {
      const s = summary.get(r.partition);
      if (s) {
        s.lastOffset = r.lastOffset;
        s.count += r.count;
      } else summary.set(r.partition, { partition: r.partition, firstOffset: r.baseOffset, lastOffset: r.lastOffset, count: r.count });
    }
    total += batch.length;
    batch = [];
    batchBytes = 0;
    progress?.update(total, readBytes);
  };
  try {
    const lines = createInterface({ input, crlfDelay: Infinity });
    for await (const line of lines) {
      const at = sep === undefined ? -1 : line.indexOf(sep);
      batch.push(at >= 0 ? { key: line.slice(0, at), value: line.slice(at + sep!.length) } : { value: line });
      batchBytes += line.length;
      readBytes += Buffer.byteLength(line) + 1;
      if (batch.length >= BATCH_RECORDS || batchBytes >= BATCH_BYTES) await flush();
    }
  } catch (err) {
    progress?.end();
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file ?? 'standard input'}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code === 'ENOENT' ? ExitCode.NOT_FOUND : ExitCode.FAILURE);
  }
  await flush();
  progress?.end();
  const partitions = [...summary.values()].sort((a, b) => a.partition - b.partition);
  if (p.json) printJson(io, { topic, count: total, partitions });
  else io.stdout.write(`produced ${total} record${total === 1 ? '' : 's'} to ${topic}\n`);
  return ExitCode.OK;
}

function send(client: ApiClient, path: string, records: Array<{ key?: string; value: string }>, partition: number | undefined): Promise<ProduceAnswer> {
  return client.request<ProduceAnswer>('POST', path, partition === undefined ? { records } : { partition, records });
}
