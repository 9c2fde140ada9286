/**
 * A partition outside the topic catalogue, in a directory of the caller's choosing (the AMQP door keeps
 * durable queue bodies in one and frees whole segments with deleteRecordsBefore once acknowledged).
 */
import type { FsyncPolicy } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { GroupCommitter, type GroupBoundary } from './group-commit.js';
import { startMaintenance } from './maintenance.js';
import { Partition, type PartitionStats } from './partition.js';
import { logConfigFrom } from './topic-config.js';
import type { PartitionLog } from './types.js';

export interface PartitionLogOptions {
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  logger?: Logger;
  /** Names shown in errors and logs (default: `standalone`, 0). */
  topic?: string;
  index?: number;
  retentionCheckIntervalMs?: number;
  tailCacheBytes?: number;
  /** When a group commit closes: after the event loop's poll phase (default) or after the current callback. */
  groupBoundary?: GroupBoundary;
}

export interface StandalonePartitionLog extends PartitionLog {
  /** Flushes, fsyncs and closes; later appends are refused. */
  close(): Promise<void>;
  /** Runs the retention check now; returns the number of segments deleted. */
  enforceRetention(now?: number): number;
  /** Compacts the segments before the active one now (cleanup.policy=compact); returns records removed. */
  compact(now?: number): number;
  stats(): PartitionStats;
  segmentBaseOffsets(): number[];
}

/** Opens (creating or recovering) a partition in `dir`; `config` uses Kafka topic config names. */
export async function openPartitionLog(dir: string, config: Record<string, string> = {}, opts: PartitionLogOptions = {}): Promise<StandalonePartitionLog> {
  const logger = opts.logger ?? createLogger();
  const p = Partition.open({
    topic: opts.topic ?? 'standalone',
    index: opts.index ?? 0,
    dir,
    config: logConfigFrom(config),
    fsync: opts.fsync ?? 'interval',
    logger,
    committer: new GroupCommitter(opts.groupBoundary),
    tailCacheBytes: opts.tailCacheBytes,
  });
  const stop = startMaintenance({
    fsync: opts.fsync ?? 'interval',
    fsyncIntervalMs: opts.fsyncIntervalMs ?? 1000,
    retentionCheckIntervalMs: opts.retentionCheckIntervalMs ?? 5 * 60 * 1000,
    logger,
    partitions: () => [p],
  });
  const close = p.close.bind(p);
  return Object.assign(p, {
    close: async () => {
      stop();
      await close();
    },
  });
}
