import { encodeBasicProperties, type BasicProperties } from './generated/properties.js';
import { parseExpiration } from './queue.js';
import type { Message } from './message.js';
import type { AmqpServer } from './server.js';
import { Writer } from './wire.js';

export interface PublishResult {
  /** False when no queue was bound for the message (it is dropped, as a non-mandatory publish is). */
  routed: boolean;
  /** Queues that refused it (x-overflow reject-publish). */
  rejected: number;
}

/** A publish that did not come from a client: the broker's schedules and the management API. */
export class PublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishError';
  }
}

/**
 * Routes a message as basic.publish would, without a connection. Resolves once persistent copies on
 * durable queues are stored (what a publisher confirm waits for).
 */
export async function publishFromBroker(
  server: AmqpServer,
  vhostName: string,
  exchangeName: string,
  routingKey: string,
  body: Buffer,
  props: BasicProperties = {},
): Promise<PublishResult> {
  const vh = server.vhosts.get(vhostName);
  if (!vh) throw new PublishError(`no vhost '${vhostName}'`);
  const x = vh.exchanges.get(exchangeName);
  if (!x) throw new PublishError(`no exchange '${exchangeName}' in vhost '${vhostName}'`);
  if (x.def.internal) throw new PublishError(`cannot publish to internal exchange '${exchangeName}' in vhost '${vhostName}'`);
  parseExpiration(props.expiration);
  const w = new Writer(128);
  encodeBasicProperties(w, props);
  const msg: Message = { exchange: exchangeName, routingKey, props, rawProps: w.take(), body };
  const delay = vh.delayOf(x, props);
  if (delay > 0) {
    await vh.publishLater(x, msg, delay);
    return { routed: true, rejected: 0 };
  }
  const queues = vh.route(x, routingKey, props.headers);
  const stored: Array<Promise<void>> = [];
  let rejected = 0;
  for (const q of queues) {
    const r = q.enqueue(msg);
    if (r === 'rejected') rejected++;
    else if (r !== 'queued') stored.push(r);
  }
  await Promise.all(stored);
  return { routed: queues.size > 0, rejected };
}

/** Properties for broker-made messages from plain values: string headers become long strings. */
export interface SimpleProperties {
  contentType?: string;
  deliveryMode?: number;
  /** Seconds since the epoch, as AMQP timestamps are. */
  timestamp?: number;
  headers?: Record<string, string>;
}

export function toBasicProperties(p: SimpleProperties): BasicProperties {
  const props: BasicProperties = {};
  if (p.contentType !== undefined) props.contentType = p.contentType;
  if (p.deliveryMode !== undefined) props.deliveryMode = p.deliveryMode;
  if (p.timestamp !== undefined) props.timestamp = p.timestamp;
  if (p.headers) props.headers = new Map(Object.entries(p.headers).map(([k, v]) => [k, { type: 'S', value: Buffer.from(v) }]));
  return props;
}
