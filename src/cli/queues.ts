import { parseCommand, printJson, type Io } from './args.js';
import { ExitCode, usageError } from './errors.js';
import { formatBytes, formatTable } from './table.js';

interface QueueRow {
  vhost: string;
  name: string;
  durable: boolean;
  ready: number;
  unacked: number;
  consumers: number;
  bytes: number;
  rates: { publish: number; deliver: number; ack: number };
}

export const QUEUES_USAGE = `Usage:
  railyard queues list [--vhost V]
  railyard queues purge QUEUE [--vhost V]
  railyard queues delete QUEUE [--vhost V] [--if-unused] [--if-empty]
      AMQP queues; the vhost defaults to "/". delete refuses (exit 1) a queue with consumers under
      --if-unused or with ready messages under --if-empty.
`;

function oneQueue(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw usageError(`${what} takes exactly one queue name`);
  return positionals[0]!;
}

const rate = (n: number): string => (n === 0 ? '0' : n.toFixed(1));

export async function queuesCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...more] = argv;
  const [sub, rest] = first === '-h' || first === '--help' ? [undefined, ['--help', ...more]] : [first, more];
  const p = parseCommand(rest, { vhost: { type: 'string' }, 'if-unused': { type: 'boolean' }, 'if-empty': { type: 'boolean' } }, io);
  if (sub === undefined || p.help) {
    io.stdout.write(QUEUES_USAGE);
    return sub === undefined && !p.help ? ExitCode.USAGE : ExitCode.OK;
  }
  const vhost = (p.values.vhost as string | undefined) ?? '/';
  const enc = encodeURIComponent;
  switch (sub) {
    case 'list': {
      if (p.positionals.length > 0) throw usageError('queues list takes no arguments');
      const { queues } = await p.client().request<{ queues: QueueRow[] }>('GET', `/api/amqp/queues?vhost=${enc(vhost)}`);
      if (p.json) printJson(io, queues);
      else {
        const rows = queues.map((q) => [q.name, q.durable ? 'yes' : 'no', q.ready, q.unacked, q.consumers, formatBytes(q.bytes), rate(q.rates.publish), rate(q.rates.deliver), rate(q.rates.ack)]);
        io.stdout.write(formatTable(['QUEUE', 'DURABLE', 'READY', 'UNACKED', 'CONSUMERS', 'SIZE', 'PUBLISH/S', 'DELIVER/S', 'ACK/S'], rows));
      }
      return ExitCode.OK;
    }
    case 'purge': {
      const q = oneQueue(p.positionals, 'queues purge');
      const r = await p.client().request<{ purged: number }>('POST', `/api/amqp/queues/${enc(vhost)}/${enc(q)}/purge`);
      if (p.json) printJson(io, { vhost, queue: q, ...r });
      else io.stdout.write(`purged ${r.purged} messages from queue ${q}\n`);
      return ExitCode.OK;
    }
    case 'delete': {
      const q = oneQueue(p.positionals, 'queues delete');
      const flags = `ifUnused=${p.values['if-unused'] === true}&ifEmpty=${p.values['if-empty'] === true}`;
      const r = await p.client().request<{ deleted: string; messages: number }>('DELETE', `/api/amqp/queues/${enc(vhost)}/${enc(q)}?${flags}`);
      if (p.json) printJson(io, { vhost, ...r });
      else io.stdout.write(`deleted queue ${q} (${r.messages} ready messages dropped)\n`);
      return ExitCode.OK;
    }
    default:
      throw usageError(`unknown queues command ${JSON.stringify(sub)}; see railyard queues --help`);
  }
}
