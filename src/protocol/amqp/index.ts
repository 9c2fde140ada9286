import type net from 'node:net';
import type { BrokerContext, Door } from '../../context.js';
import { listenTcp } from '../../net/listen.js';
import { PooledReads } from '../../net/pooled-reads.js';
import { AmqpServer } from './server.js';
import { Connection } from './connection.js';

import type { AlarmOptions } from './alarms.js';
import type { QueueInfo } from './queue.js';
import type { BasicProperties } from './generated/properties.js';
import { AmqpManagement, ManagementConflict, type BindingSummary, type ConnectionSummary, type ExchangeSummary, type FetchedMessage, type QueueSummary } from './management.js';
import { publishFromBroker, PublishError, toBasicProperties, type PublishResult, type SimpleProperties } from './server-publish.js';

export { hashPassword, verifyPassword } from './auth.js';
export type { AlarmOptions, QueueInfo, BasicProperties, PublishResult };
export { PublishError, toBasicProperties, type SimpleProperties };
export { ManagementConflict, type BindingSummary, type ConnectionSummary, type ExchangeSummary, type FetchedMessage, type QueueSummary };
export type { ChannelStats } from './channel.js';
export type { JsonValue } from './field-json.js';

/** Door internals tests and embedders may tune; the broker uses the defaults. */
export interface AmqpDoorOptions {
  alarms?: AlarmOptions;
  /** Ready persistent bodies each durable queue keeps in memory (default 32 MiB); the rest stays in its log. */
  queueResidentBytes?: number;
}

/** A started AMQP door, with a look inside for the dashboard and tests. */
export interface AmqpDoor extends Door {
  setMemoryHighWatermark(bytes: number): void;
  /** Queue counts (messages, consumers, bytes in memory, paged-out messages); undefined if absent. */
  queueInfo(vhost: string, queue: string): QueueInfo | undefined;
  /** Publishes as a client's basic.publish would (schedules, management API); rejects with PublishError. */
  publish(vhost: string, exchange: string, routingKey: string, body: Buffer, props?: BasicProperties): Promise<PublishResult>;
  vhosts(): string[];
  /** Every vhost's when `vhost` is omitted; empty for an unknown vhost. */
  exchanges(vhost?: string): ExchangeSummary[];
  queues(vhost?: string): QueueSummary[];
  /** One queue's summary (counts, rates); undefined if absent. */
  queue(vhost: string, queue: string): QueueSummary | undefined;
  bindings(vhost?: string): BindingSummary[];
  connections(): ConnectionSummary[];
  /** connection.close 320 CONNECTION_FORCED with `reason`; false when no such connection. */
  closeConnection(id: string, reason: string): boolean;
  /** Messages purged, or undefined when the queue does not exist. */
  purgeQueue(vhost: string, queue: string): number | undefined;
  /** Messages dropped, or undefined when the queue does not exist; ManagementConflict for if-unused/if-empty. */
  deleteQueue(vhost: string, queue: string, opts?: { ifUnused?: boolean; ifEmpty?: boolean }): number | undefined;
  /** Up to `count` ready messages; 'requeue' leaves them in place marked redelivered. Undefined when absent. */
  getMessages(vhost: string, queue: string, count: number, ackMode: 'requeue' | 'ack'): FetchedMessage[] | undefined;
}

/** Starts the AMQP 0-9-1 listener on `ctx.options.host:amqpPort`. */
export async function startAmqpDoor(ctx: BrokerContext, opts: AmqpDoorOptions = {}): Promise<AmqpDoor> {
  const server = await AmqpServer.open(ctx, opts.alarms, opts.queueResidentBytes);
  const connections = new Set<Connection>();
  const sockets = new Set<net.Socket>();
  const mgmt = new AmqpManagement(server, connections);
  // Every connection reads into one shared buffer rather than a fresh 64 KiB one per read.
  const reads = new PooledReads();
  const listener = await listenTcp(
    ctx.options.host,
    ctx.options.amqpPort,
    (accepted) => {
      const c = new Connection(accepted, server, (closed) => connections.delete(closed), reads);
      const socket = c.socket;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      mgmt.register(c);
      connections.add(c);
    },
    { pauseOnConnect: true },
  );
  ctx.logger.info(`listening on ${ctx.options.host}:${listener.port}`);
  let closed: Promise<void> | undefined;
  return {
    port: listener.port,
    connectionCount: () => connections.size,
    publish(vhost, exchange, routingKey, body, props) {
      return publishFromBroker(server, vhost, exchange, routingKey, body, props);
    },
    queueInfo(vhost: string, queue: string) {
      return server.vhosts.get(vhost)?.queues.get(queue)?.info();
    },
    vhosts: () => mgmt.vhosts(),
    exchanges: (vhost) => mgmt.exchanges(vhost),
    queues: (vhost) => mgmt.queues(vhost),
    queue: (vhost, queue) => mgmt.queue(vhost, queue),
    bindings: (vhost) => mgmt.bindings(vhost),
    connections: () => mgmt.connectionList(),
    closeConnection: (id, reason) => mgmt.closeConnection(id, reason),
    purgeQueue: (vhost, queue) => mgmt.purgeQueue(vhost, queue),
    deleteQueue: (vhost, queue, opts) => mgmt.deleteQueue(vhost, queue, opts),
    getMessages: (vhost, queue, count, ackMode) => mgmt.getMessages(vhost, queue, count, ackMode),
    setMemoryHighWatermark(bytes: number) {
      server.alarms.memoryHighWatermarkBytes = bytes;
      server.alarms.check();
    },
    close() {
      closed ??= (async () => {
        const stopping = listener.close();
        for (const c of [...connections]) c.forceClose();
        // Give clients a moment to answer close-ok, then drop whoever is left.
        await new Promise((r) => setTimeout(r, sockets.size > 0 ? 50 : 0));
        for (const s of sockets) s.destroy();
        await stopping;
        await server.close();
      })();
      return closed;
    },
  };
}
