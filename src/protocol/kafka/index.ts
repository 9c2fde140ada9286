import type { BrokerContext, Door } from '../../context.js';
import { createAdminHandlers } from './admin/index.js';
import { createApiVersionsHandler } from './api-versions.js';
import type { ConnectionLimits } from './connection.js';
import { createDispatcher, createHandlerTable, type HandlerTable } from './dispatch.js';
import { createGroupCoordinator, type GroupCoordinator } from './groups/index.js';
import type { KafkaApiHandler } from './handler.js';
import { createFetchHandler } from './handlers/fetch.js';
import { createListOffsetsHandler } from './handlers/list-offsets.js';
import { createMetadataHandler } from './handlers/metadata.js';
import { createProduceHandler } from './handlers/produce.js';
import { startKafkaServer, type KafkaServer } from './server.js';
import { KafkaTraffic, type PartitionTraffic } from './traffic.js';
import { createTransactionSupport, type TransactionSupport } from './txn/index.js';

export interface KafkaRequestSample {
  api: string;
  durationMs: number;
}

export interface KafkaDoor extends Door {
  /** The group coordinator, for the dashboard's views of groups and committed offsets. */
  groups: GroupCoordinator;
  /** Subscribes to every request's API name and latency; returns the unsubscribe function. */
  onRequest(listener: (sample: KafkaRequestSample) => void): () => void;
  /** Bytes and records produced to and fetched from each partition of a topic, by partition index, read at scrape time. */
  traffic(topic: string): ReadonlyArray<Readonly<PartitionTraffic> | undefined> | undefined;
  /** Drops a topic's traffic counters when it is deleted outside the door (the HTTP API), so a re-created topic starts at zero. */
  forgetTopic(topic: string): void;
}

/**
 * Per-connection back-pressure: more than this many unanswered requests, or this many response bytes
 * not yet taken by the kernel, and the connection stops being read until it catches up.
 */
const MAX_IN_FLIGHT = 64;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

function handlerTable(ctx: BrokerContext, groups: GroupCoordinator, traffic: KafkaTraffic, txn: TransactionSupport): HandlerTable {
  const handlers: KafkaApiHandler[] = [
    createProduceHandler(ctx, traffic, (topic, partition, records) => txn.coordinator.checkProduce(topic, partition, records)),
    createFetchHandler(ctx, traffic),
    createListOffsetsHandler(ctx),
    createMetadataHandler(ctx),
    ...txn.handlers,
    ...groups.handlers,
    ...createAdminHandlers(ctx, { onTopicDeleted: (name) => {
      groups.forgetTopic(name);
      traffic.forget(name);
      txn.coordinator.forgetTopic(name);
    } }),
  ];
  // ApiVersions reads the finished table, itself included.
  let table: HandlerTable | undefined;
  handlers.push(createApiVersionsHandler(() => table!.ranges(), ctx.logger));
  table = createHandlerTable(handlers);
  return table;
}

/** The Kafka door: every API handler behind one pipelined TCP server on `host:kafkaPort`. */
export async function startKafkaDoor(ctx: BrokerContext): Promise<KafkaDoor> {
  const groups = createGroupCoordinator(ctx);
  const traffic = new KafkaTraffic();
  const txn = createTransactionSupport(ctx, groups);
  const table = handlerTable(ctx, groups, traffic, txn);
  const requestListeners = new Set<(sample: KafkaRequestSample) => void>();
  const observe = (api: string, durationMs: number) => {
    if (requestListeners.size === 0) return;
    const sample = { api, durationMs };
    for (const l of requestListeners) l(sample);
  };
  const limits: ConnectionLimits = {
    maxFrameBytes: ctx.options.kafka.maxFrameBytes,
    maxInFlight: MAX_IN_FLIGHT,
    maxQueuedBytes: MAX_QUEUED_BYTES,
  };
  let server: KafkaServer;
  try {
    server = await startKafkaServer({
      host: ctx.options.host,
      port: ctx.options.kafkaPort,
      createProcessor: (conn) => createDispatcher(table, conn, observe),
      limits,
      logger: ctx.logger,
    });
  } catch (err) {
    txn.close();
    await groups.close();
    throw err;
  }
  return {
    port: server.port,
    groups,
    onRequest: (listener) => {
      requestListeners.add(listener);
      return () => void requestListeners.delete(listener);
    },
    traffic: (topic) => traffic.get(topic),
    forgetTopic: (topic) => traffic.forget(topic),
    connectionCount: () => server.connectionCount(),
    close: async () => {
      await server.close();
      txn.close();
      await groups.close();
    },
  };
}
