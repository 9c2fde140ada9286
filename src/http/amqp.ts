import type { AmqpDoor } from '../protocol/amqp/index.js';
import { notFound } from './errors.js';
import type { Router } from './router.js';

/** What the HTTP door reads from the AMQP door. */
export type AmqpView = Pick<AmqpDoor, 'queueInfo'>;

/**
 * AMQP queues, addressed as the RabbitMQ management API does: the vhost is one path segment, so the
 * default vhost `/` is written `%2F`.
 */
export function addAmqpRoutes(router: Router, amqp: AmqpView): void {
  router.add('GET', '/api/amqp/queues/:vhost/:queue', (req) => {
    const { vhost, queue } = req.params as { vhost: string; queue: string };
    const info = amqp.queueInfo(vhost, queue);
    if (!info) throw notFound(`no queue ${JSON.stringify(queue)} in vhost ${JSON.stringify(vhost)}`);
    return { status: 200, body: { vhost, ...info } };
  });
}
