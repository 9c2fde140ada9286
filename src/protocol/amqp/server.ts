import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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

  private constructor(readonly ctx: BrokerContext) {
    this.logger = ctx.logger;
    this.store = new MetadataStore(ctx.db);
    this.store.applyConfig(ctx.options.amqp);
    const a = ctx.options.amqp;
    this.heartbeat = a.heartbeat ?? 60;
    this.frameMax = a.frameMax ?? 131072;
    this.channelMax = a.channelMax ?? 2047;
  }

  /** Loads vhosts and recovers durable queues; removes log directories no queue refers to any more. */
  static async open(ctx: BrokerContext): Promise<AmqpServer> {
    const s = new AmqpServer(ctx);
    const dir = join(ctx.options.dataDir, 'amqp', 'queues');
    mkdirSync(dir, { recursive: true });
    const referenced = s.store.storeDirs();
    for (const entry of readdirSync(dir)) {
      if (!referenced.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
    }
    const root = { dir, fsync: ctx.options.fsync, fsyncIntervalMs: ctx.options.fsyncIntervalMs, logger: ctx.logger };
    for (const v of s.store.vhosts()) s.vhosts.set(v, await VirtualHost.open(v, s.store, root));
    return s;
  }

  async close(): Promise<void> {
    await Promise.all([...this.vhosts.values()].map((v) => v.close()));
  }
}

export type { Consumer };
