import { ManagementConflict, PublishError, toBasicProperties, type AmqpDoor, type SimpleProperties } from '../protocol/amqp/index.js';
import { AmqpError } from '../protocol/amqp/errors.js';
import { badRequest, conflict, notFound } from './errors.js';
import type { RequestInfo, Router } from './router.js';
import { objectBody, oneOf, optionalInt, requiredString, stringMap, type Fields } from './validate.js';

/** What the HTTP door reads from and asks of the AMQP door. */
export type AmqpView = Pick<
  AmqpDoor,
  'queueInfo' | 'publish' | 'vhosts' | 'exchanges' | 'queues' | 'queue' | 'bindings' | 'connections' | 'closeConnection' | 'purgeQueue' | 'deleteQueue' | 'getMessages'
>;

const MAX_GET = 1000;
const DEFAULT_CLOSE_REASON = 'Closed via management API';

function noQueue(vhost: string, queue: string): never {
  throw notFound(`no queue ${JSON.stringify(queue)} in vhost ${JSON.stringify(vhost)}`);
}

/** `?vhost=` narrows a listing; an unknown vhost is a 404 rather than an empty list that hides a typo. */
function vhostFilter(amqp: AmqpView, req: RequestInfo): string | undefined {
  const v = req.query.get('vhost');
  if (v === null || v === '') return undefined;
  if (!amqp.vhosts().includes(v)) throw notFound(`no vhost ${JSON.stringify(v)}`);
  return v;
}

function queryFlag(req: RequestInfo, field: string): boolean {
  const v = req.query.get(field);
  if (v === null || v === '' || v === 'false') return false;
  if (v === 'true') return true;
  throw badRequest(field, 'must be true or false');
}

function publishProperties(o: Fields): SimpleProperties {
  const p = o.properties;
  if (p === undefined) return {};
  const props = objectBody(p, 'properties');
  const out: SimpleProperties = {};
  if (props.contentType !== undefined) out.contentType = requiredString(props, 'contentType', 'properties.');
  const mode = optionalInt(props, 'deliveryMode', 1, 2, 'properties.');
  if (mode !== undefined) out.deliveryMode = mode;
  if (props.headers !== undefined) {
    const h = stringMap(props.headers, 'properties.headers', false);
    out.headers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v ?? '']));
  }
  return out;
}

function messageBody(o: Fields): Buffer {
  const enc = o.encoding === undefined ? 'utf8' : oneOf(o.encoding, 'encoding', ['utf8', 'base64'] as const);
  const b = o.body ?? '';
  if (typeof b !== 'string') throw badRequest('body', 'must be a string');
  return Buffer.from(b, enc);
}

/**
 * AMQP management, addressed as the RabbitMQ management API does: the vhost is one path segment, so
 * the default vhost `/` is written `%2F`.
 */
export function addAmqpRoutes(router: Router, amqp: AmqpView): void {
  router.add('GET', '/api/amqp/vhosts', () => ({ status: 200, body: { vhosts: amqp.vhosts().map((name) => ({ name })) } }));
  router.add('GET', '/api/amqp/exchanges', (req) => ({ status: 200, body: { exchanges: amqp.exchanges(vhostFilter(amqp, req)) } }));
  router.add('GET', '/api/amqp/queues', (req) => ({ status: 200, body: { queues: amqp.queues(vhostFilter(amqp, req)) } }));
  router.add('GET', '/api/amqp/bindings', (req) => ({ status: 200, body: { bindings: amqp.bindings(vhostFilter(amqp, req)) } }));
  router.add('GET', '/api/amqp/connections', () => ({ status: 200, body: { connections: amqp.connections() } }));

  router.add('GET', '/api/amqp/queues/:vhost/:queue', (req) => {
    const { vhost, queue } = req.params as { vhost: string; queue: string };
    const info = amqp.queueInfo(vhost, queue);
    const summary = amqp.queue(vhost, queue);
    if (!info || !summary) noQueue(vhost, queue);
    return { status: 200, body: { ...info, ...summary } };
  });

  router.add('DELETE', '/api/amqp/connections/:id', (req) => {
    const reason = req.query.get('reason') || DEFAULT_CLOSE_REASON;
    if (!amqp.closeConnection(req.params.id!, reason)) throw notFound(`no connection ${JSON.stringify(req.params.id)}`);
    return { status: 204 };
  });

  router.add('POST', '/api/amqp/queues/:vhost/:queue/purge', (req) => {
    const { vhost, queue } = req.params as { vhost: string; queue: string };
    const purged = amqp.purgeQueue(vhost, queue);
    if (purged === undefined) noQueue(vhost, queue);
    return { status: 200, body: { purged } };
  });

  router.add('DELETE', '/api/amqp/queues/:vhost/:queue', (req) => {
    const { vhost, queue } = req.params as { vhost: string; queue: string };
    const opts = { ifUnused: queryFlag(req, 'ifUnused'), ifEmpty: queryFlag(req, 'ifEmpty') };
    let dropped: number | undefined;
    try {
      dropped = amqp.deleteQueue(vhost, queue, opts);
    } catch (err) {
      if (err instanceof ManagementConflict) throw conflict(err.message);
      throw err;
    }
    if (dropped === undefined) noQueue(vhost, queue);
    return { status: 200, body: { deleted: queue, messages: dropped } };
  });

  router.add('POST', '/api/amqp/queues/:vhost/:queue/get', async (req) => {
    const { vhost, queue } = req.params as { vhost: string; queue: string };
    const o = objectBody((await req.json()) ?? {});
    const count = optionalInt(o, 'count', 1, MAX_GET) ?? 1;
    const ackMode = o.ackMode === undefined ? 'requeue' : oneOf(o.ackMode, 'ackMode', ['requeue', 'ack'] as const);
    const messages = amqp.getMessages(vhost, queue, count, ackMode);
    if (!messages) noQueue(vhost, queue);
    return { status: 200, body: { messages } };
  });

  router.add('POST', '/api/amqp/exchanges/:vhost/:exchange/publish', async (req) => {
    const { vhost } = req.params as { vhost: string };
    // The default exchange has no name to put in a path; RabbitMQ's management API calls it amq.default.
    const exchange = req.params.exchange === 'amq.default' ? '' : req.params.exchange!;
    const o = objectBody(await req.json());
    const routingKey = o.routingKey ?? '';
    if (typeof routingKey !== 'string') throw badRequest('routingKey', 'must be a string');
    const body = messageBody(o);
    const props = toBasicProperties(publishProperties(o));
    try {
      const r = await amqp.publish(vhost, exchange, routingKey, body, props);
      return { status: 200, body: { routed: r.routed, rejected: r.rejected } };
    } catch (err) {
      if (err instanceof PublishError) {
        if (err.message.startsWith('no ')) throw notFound(err.message);
        throw badRequest('exchange', err.message);
      }
      if (err instanceof AmqpError) throw badRequest('properties', err.message);
      throw err;
    }
  });
}
