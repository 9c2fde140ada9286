/** Emits a schedule's slot as one persistent message published to an AMQP exchange of the broker. */
import { fillTemplate, type AmqpTarget, type Emitter } from './types.js';

export interface AmqpPublishProps {
  contentType?: string;
  deliveryMode?: number;
  timestamp?: number;
  headers?: Record<string, string>;
}

/** The AMQP door's publish, as the scheduler needs it (kept narrow so the scheduler knows no AMQP internals). */
export type AmqpPublish = (vhost: string, exchange: string, routingKey: string, body: Buffer, props: AmqpPublishProps) => Promise<unknown>;

export function amqpEmitter(publish: AmqpPublish): Emitter<AmqpTarget> {
  return async (target, ctx) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(target.headers ?? {})) headers[k] = fillTemplate(v, ctx);
    headers['railyard-schedule'] = ctx.name;
    await publish(target.vhost ?? '/', target.exchange, fillTemplate(target.routingKey ?? '', ctx), Buffer.from(fillTemplate(target.body, ctx)), {
      contentType: target.contentType,
      deliveryMode: 2,
      // AMQP timestamps are seconds.
      timestamp: Math.floor(ctx.slot / 1000),
      headers,
    });
  };
}
