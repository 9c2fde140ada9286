import type { AmqpServer } from './server.js';
import type { Connection } from './connection.js';
import type { ChannelStats } from './channel.js';
import type { Queue } from './queue.js';
import type { VirtualHost } from './vhost.js';
import type { QueuedMessage } from './message.js';
import { tableToJson as tableJson, type JsonValue } from './field-json.js';
import { AmqpError } from './errors.js';

export interface ExchangeSummary {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: Record<string, JsonValue>;
}

export interface QueueRates {
  publish: number;
  deliver: number;
  ack: number;
}

export interface QueueSummary {
  vhost: string;
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: Record<string, JsonValue>;
  ready: number;
  unacked: number;
  consumers: number;
  /** Bytes of ready message bodies. */
  bytes: number;
  published: number;
  delivered: number;
  acked: number;
  /** Per second, over the last sampling interval. */
  rates: QueueRates;
}

export interface BindingSummary {
  vhost: string;
  source: string;
  destinationKind: 'queue' | 'exchange';
  destination: string;
  routingKey: string;
  arguments: Record<string, JsonValue>;
}

export interface ConnectionSummary {
  id: string;
  user: string;
  vhost: string | null;
  remoteAddress: string;
  remotePort: number;
  channels: ChannelStats[];
}

export interface FetchedMessage {
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  /** Ready messages left after this one was taken. */
  messageCount: number;
  properties: { contentType?: string; deliveryMode?: number; headers?: Record<string, JsonValue> };
  /** UTF-8 when the body decodes as such, else base64. */
  payload: string;
  payloadEncoding: 'string' | 'base64';
  payloadBytes: number;
}

/** Thrown for a management action the entity's state refuses (in use, not empty). */
export class ManagementConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManagementConflict';
  }
}

/** Rates need two samples; sampling on read keeps the hot path to counter increments. */
const MIN_SAMPLE_MS = 1000;

interface Sample {
  at: number;
  published: number;
  delivered: number;
  acked: number;
  rates: QueueRates;
}

/** Read and act on the AMQP door's state, for the management API. */
export class AmqpManagement {
  private readonly samples = new WeakMap<Queue, Sample>();
  private readonly ids = new WeakMap<Connection, string>();
  private nextId = 1;

  constructor(
    private readonly server: AmqpServer,
    private readonly connections: ReadonlySet<Connection>,
  ) {}

  /** Gives a connection its management id; called when it is accepted. */
  register(c: Connection): void {
    this.ids.set(c, String(this.nextId++));
  }

  vhosts(): string[] {
    return [...this.server.vhosts.keys()].sort();
  }

  private vhost(name: string): VirtualHost | undefined {
    return this.server.vhosts.get(name);
  }

  private selected(vhost: string | undefined): VirtualHost[] {
    if (vhost === undefined) return [...this.server.vhosts.values()];
    const vh = this.vhost(vhost);
    return vh ? [vh] : [];
  }

  exchanges(vhost?: string): ExchangeSummary[] {
    const out: ExchangeSummary[] = [];
    for (const vh of this.selected(vhost)) {
      for (const x of vh.exchanges.values()) {
        const d = x.def;
        out.push({ vhost: vh.name, name: d.name, type: d.type, durable: d.durable, autoDelete: d.autoDelete, internal: d.internal, arguments: tableJson(d.args) });
      }
    }
    return out.sort((a, b) => a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name));
  }

  private unackedByQueue(): Map<Queue, number> {
    const m = new Map<Queue, number>();
    for (const c of this.connections) for (const ch of c.openChannels()) ch.countUnacked(m);
    return m;
  }

  private rates(q: Queue, now: number): QueueRates {
    const c = q.counters;
    const prev = this.samples.get(q);
    if (!prev) {
      this.samples.set(q, { at: now, ...c, rates: { publish: 0, deliver: 0, ack: 0 } });
      return { publish: 0, deliver: 0, ack: 0 };
    }
    const dt = (now - prev.at) / 1000;
    if (dt * 1000 < MIN_SAMPLE_MS) return prev.rates;
    const rates = { publish: (c.published - prev.published) / dt, deliver: (c.delivered - prev.delivered) / dt, ack: (c.acked - prev.acked) / dt };
    this.samples.set(q, { at: now, ...c, rates });
    return rates;
  }

  queues(vhost?: string): QueueSummary[] {
    const unacked = this.unackedByQueue();
    const now = Date.now();
    const out: QueueSummary[] = [];
    for (const vh of this.selected(vhost)) {
      for (const q of vh.queues.values()) out.push(this.summary(vh, q, unacked.get(q) ?? 0, now));
    }
    return out.sort((a, b) => a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name));
  }

  queue(vhost: string, name: string): QueueSummary | undefined {
    const vh = this.vhost(vhost);
    const q = vh?.queues.get(name);
    if (!vh || !q) return undefined;
    return this.summary(vh, q, this.unackedByQueue().get(q) ?? 0, Date.now());
  }

  private summary(vh: VirtualHost, q: Queue, unacked: number, now: number): QueueSummary {
    const d = q.def;
    const info = q.info();
    const c = q.counters;
    return {
      vhost: vh.name,
      name: d.name,
      durable: d.durable,
      exclusive: d.exclusive,
      autoDelete: d.autoDelete,
      arguments: tableJson(d.args),
      ready: info.messages,
      unacked,
      consumers: info.consumers,
      bytes: info.readyBytes,
      published: c.published,
      delivered: c.delivered,
      acked: c.acked,
      rates: this.rates(q, now),
    };
  }

  bindings(vhost?: string): BindingSummary[] {
    const out: BindingSummary[] = [];
    for (const vh of this.selected(vhost)) {
      // The default exchange's implicit binding to every queue, as RabbitMQ lists it.
      for (const q of vh.queues.keys()) out.push({ vhost: vh.name, source: '', destinationKind: 'queue', destination: q, routingKey: q, arguments: {} });
      for (const x of vh.exchanges.values()) {
        for (const b of x.bindings.values()) {
          out.push({ vhost: vh.name, source: b.source, destinationKind: b.destinationKind, destination: b.destination, routingKey: b.routingKey, arguments: tableJson(b.args) });
        }
      }
    }
    return out;
  }

  connectionList(): ConnectionSummary[] {
    const out: ConnectionSummary[] = [];
    for (const c of this.connections) {
      const id = this.ids.get(c);
      if (id === undefined) continue;
      out.push({
        id,
        user: c.user,
        vhost: c.vhost?.name ?? null,
        remoteAddress: c.socket.remoteAddress ?? '',
        remotePort: c.socket.remotePort ?? 0,
        channels: [...c.openChannels()].map((ch) => ch.stats()).sort((a, b) => a.id - b.id),
      });
    }
    return out.sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** False when no connection has that id. */
  closeConnection(id: string, reason: string): boolean {
    for (const c of this.connections) {
      if (this.ids.get(c) === id) {
        c.forceCloseWithReason(reason);
        return true;
      }
    }
    return false;
  }

  /** Ready messages dropped, or undefined when the queue does not exist. */
  purgeQueue(vhost: string, name: string): number | undefined {
    return this.vhost(vhost)?.queues.get(name)?.purge();
  }

  /** Goes through the vhost's own delete, so consumers get basic.cancel as on a client's queue.delete. */
  deleteQueue(vhost: string, name: string, opts: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number | undefined {
    const vh = this.vhost(vhost);
    if (!vh?.queues.has(name)) return undefined;
    try {
      return vh.deleteQueue(name, opts.ifUnused ?? false, opts.ifEmpty ?? false);
    } catch (err) {
      if (err instanceof AmqpError) throw new ManagementConflict(err.replyText);
      throw err;
    }
  }

  /**
   * Takes up to `count` ready messages. 'requeue' puts them back where they were, marked redelivered
   * (RabbitMQ's ack_requeue_true); 'ack' removes them. Undefined when the queue does not exist.
   */
  getMessages(vhost: string, name: string, count: number, ackMode: 'requeue' | 'ack'): FetchedMessage[] | undefined {
    const q = this.vhost(vhost)?.queues.get(name);
    if (!q) return undefined;
    const taken: QueuedMessage[] = [];
    const out: FetchedMessage[] = [];
    for (let i = 0; i < count; i++) {
      const e = q.shift();
      if (!e) break;
      taken.push(e);
      q.counters.delivered++;
      out.push(fetched(e, q.messageCount));
    }
    if (ackMode === 'requeue') q.requeue(taken);
    else {
      for (const e of taken) {
        q.forget(e);
        q.counters.acked++;
      }
    }
    return out;
  }
}

function fetched(e: QueuedMessage, messageCount: number): FetchedMessage {
  const body = e.msg.body;
  const text = body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(body);
  const p = e.msg.props;
  const properties: FetchedMessage['properties'] = {};
  if (p.contentType !== undefined) properties.contentType = p.contentType;
  if (p.deliveryMode !== undefined) properties.deliveryMode = p.deliveryMode;
  if (p.headers) properties.headers = tableJson(p.headers);
  return {
    exchange: e.msg.exchange,
    routingKey: e.msg.routingKey,
    redelivered: e.redelivered,
    messageCount,
    properties,
    payload: isText ? text : body.toString('base64'),
    payloadEncoding: isText ? 'string' : 'base64',
    payloadBytes: body.length,
  };
}
