import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions, type BrokerOptions } from '../../src/config.js';
import type { BrokerContext, Door } from '../../src/context.js';
import { createLogger } from '../../src/logger.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { openLogStore } from '../../src/log/index.js';
import { startKafkaDoor } from '../../src/protocol/kafka/index.js';

export interface TestKafkaBroker {
  port: number;
  /** `127.0.0.1:PORT` */
  bootstrap: string;
  ctx: BrokerContext;
  door: Door;
  stop(): Promise<void>;
}

/** Only the Kafka door on a temporary data dir: the database, the log store and the door, as the broker composes them. */
export async function startKafkaBroker(opts: Omit<BrokerOptions, 'dataDir'> = {}): Promise<TestKafkaBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'railyard-kafka-'));
  const options = resolveOptions({ host: '127.0.0.1', ...opts, dataDir });
  const logger = createLogger(options.logLevel);
  const db = openDatabase(dataDir);
  const log = await openLogStore({
    dataDir,
    db,
    fsync: 'never',
    fsyncIntervalMs: options.fsyncIntervalMs,
    topicDefaults: options.kafka.topicDefaults,
    logger: logger.child('log'),
  });
  const abort = new AbortController();
  const ctx: BrokerContext = { options, logger, db, log, closing: abort.signal };
  const door = await startKafkaDoor({ ...ctx, logger: logger.child('kafka') });
  return {
    port: door.port,
    bootstrap: `127.0.0.1:${door.port}`,
    ctx,
    door,
    stop: async () => {
      abort.abort();
      await door.close();
      await log.close();
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
