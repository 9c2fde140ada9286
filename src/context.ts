import type { ResolvedOptions } from './config.js';
import type { Logger } from './logger.js';
import type { Db } from './store/sqlite.js';
import type { LogStore } from './log/types.js';

/** What every door receives from the broker that composes them. */
export interface BrokerContext {
  options: ResolvedOptions;
  logger: Logger;
  /** The data dir's SQLite database (metadata, offsets, jobs, schedules). */
  db: Db;
  /** Kafka topics and partitions on the segmented log. */
  log: LogStore;
  /** Resolves when the broker starts shutting down; long-running work should stop then. */
  closing: AbortSignal;
}

/** A listening door (Kafka, AMQP, HTTP). */
export interface Door {
  /** Bound port (the one picked when 0 was asked for). */
  port: number;
  /** Stops accepting, closes connections, flushes what the door owns. */
  close(): Promise<void>;
  /** Open client connections, for the dashboard and /metrics. */
  connectionCount(): number;
}
