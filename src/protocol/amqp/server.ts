import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerContext } from '../../context.js';
import type { Logger } from '../../logger.js';
import { MetadataStore } from './metadata.js';
import { VirtualHost } from './vhost.js';
import { ResourceAlarms, type AlarmOptions } from './alarms.js';
import { ReadTurn } from './output.js';

/** What a connection exposes to server-wide events. */
export interface AlarmListener {
  alarmCleared(): void;
}

/** A consumer on the pseudo-queue `amq.rabbitmq.reply-to`, reached by its token. */
export interface ReplyTarget {
  deliverDirect(consumerTag: string, exchange: string, routingKey: string, rawProps: Buffer, body: Buffer): boolean;
}

/** Ready persistent message bodies a durable queue keeps in memory (beyond: read back from its log). */
const DEFAULT_RESIDENT_BUDGET = 32 * 1024 * 1024;

/** State shared by every connection of the AMQP door. */
export class AmqpServer {
  readonly store: MetadataStore;
  readonly vhosts = new Map<string, VirtualHost>();
  readonly replyTargets = new Map<string, { target: ReplyTarget; consumerTag: string }>();
  readonly logger: Logger;
  readonly heartbeat: number;
  readonly frameMax: number;
  readonly channelMax: number;
  readonly alarms: ResourceAlarms;
  /** Connections blocked by an alarm, to be released when it clears. */
  readonly blocked = new Set<AlarmListener>();
  /** Output written while a socket read is handled, flushed at the end of that read. */
  readonly readTurn = new ReadTurn();

  private constructor(
    readonly ctx: BrokerContext,
    alarmOpts: AlarmOptions,
  ) {
    this.logger = ctx.logger;
    this.store = new MetadataStore(ctx.db);
    this.store.applyConfig(ctx.options.amqp);
    const a = ctx.options.amqp;
    this.heartbeat = a.heartbeat ?? 60;
    this.frameMax = a.frameMax ?? 131072;
    this.channelMax = a.channelMax ?? 2047;
    this.alarms = new ResourceAlarms(ctx.options.dataDir, alarmOpts, (reason) => {
      if (reason !== null) return;
      for (const c of [...this.blocked]) c.alarmCleared();
      this.blocked.clear();
    });
  }

  /** Loads vhosts and recovers durable queues; removes log directories no queue refers to any more. */
  static async open(ctx: BrokerContext, alarmOpts: AlarmOptions = {}, residentBudgetBytes?: number): Promise<AmqpServer> {
    const s = new AmqpServer(ctx, alarmOpts);
    const dir = join(ctx.options.dataDir, 'amqp', 'queues');
    mkdirSync(dir, { recursive: true });
    const referenced = s.store.storeDirs();
    for (const entry of readdirSync(dir)) {
      if (!referenced.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
    }
    const root = {
      dir,
      fsync: ctx.options.fsync,
      fsyncIntervalMs: ctx.options.fsyncIntervalMs,
      logger: ctx.logger,
      residentBudgetBytes: residentBudgetBytes ?? DEFAULT_RESIDENT_BUDGET,
    };
    for (const v of s.store.vhosts()) s.vhosts.set(v, await VirtualHost.open(v, s.store, root));
    return s;
  }

  async close(): Promise<void> {
    this.alarms.stop();
    await Promise.all([...this.vhosts.values()].map((v) => v.close()));
  }
}
