import type { BrokerContext } from '../../context.js';
import type { Logger } from '../../logger.js';
import { MetadataStore } from './metadata.js';
import { VirtualHost } from './vhost.js';
import type { Consumer } from './queue.js';

/** A consumer on the pseudo-queue `amq.rabbitmq.reply-to`, reached by its token. */
export interface ReplyTarget {
  deliverDirect(consumerTag: string, exchange: string, routingKey: string, rawProps: Buffer, body: Buffer): boolean;
}

/** State shared by every connection of the AMQP door. */
export class AmqpServer {
  readonly store: MetadataStore;
  readonly vhosts = new Map<string, VirtualHost>();
  readonly replyTargets = new Map<string, { target: ReplyTarget; consumerTag: string }>();
  readonly logger: Logger;
  readonly heartbeat: number;
  readonly frameMax: number;
  readonly channelMax: number;

  constructor(readonly ctx: BrokerContext) {
    this.logger = ctx.logger;
    this.store = new MetadataStore(ctx.db);
    this.store.applyConfig(ctx.options.amqp);
    for (const v of this.store.vhosts()) this.vhosts.set(v, new VirtualHost(v, this.store));
    const a = ctx.options.amqp;
    this.heartbeat = a.heartbeat ?? 60;
    this.frameMax = a.frameMax ?? 131072;
    this.channelMax = a.channelMax ?? 2047;
  }

  close(): void {
    for (const v of this.vhosts.values()) v.close();
  }
}

export type { Consumer };
