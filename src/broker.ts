import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveOptions, type BrokerOptions, type ResolvedOptions } from './config.js';
import type { BrokerContext, Door } from './context.js';
import { createLogger, type Logger } from './logger.js';
import { openDatabase, type Db } from './store/sqlite.js';
import { openLogStore } from './log/index.js';
import type { LogStore } from './log/types.js';
import { startKafkaDoor } from './protocol/kafka/index.js';
import { startAmqpDoor, toBasicProperties } from './protocol/amqp/index.js';
import { startHttpDoor } from './http/index.js';
import { DataDirLock } from './store/lock.js';
import { amqpEmitter, jobEmitter, startBrokerSchedules } from './scheduler/broker-schedules/index.js';

export interface Broker {
  kafka: { bootstrap: string; port: number };
  amqp: { url: string; port: number };
  http: { url: string; port: number };
  dataDir: string;
  /** The line `railyard start` prints when ready. */
  readyLine: string;
  /** Stops every door, flushes the log, closes the database; removes the data dir if it was temporary. */
  stop(): Promise<void>;
}

/** `localhost` stays a name in URLs; IPv6 literals need brackets. */
function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Starts every door on one data dir. Without `dataDir` a fresh temporary directory is used and
 * removed by stop(); ports default to 0 (a free port each), so several brokers can share a process.
 */
export async function startBroker(opts: BrokerOptions = {}): Promise<Broker> {
  const temporary = opts.dataDir === undefined;
  const dataDir = temporary ? mkdtempSync(join(tmpdir(), 'railyard-')) : resolve(opts.dataDir!);
  let options: ResolvedOptions;
  try {
    options = resolveOptions({ ...opts, dataDir });
  } catch (err) {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const logger: Logger = createLogger(options.logLevel);
  const abort = new AbortController();
  const cleanups: Array<() => Promise<void> | void> = [];
  const runCleanups = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.error('error while stopping', { err });
      }
    }
    cleanups.length = 0;
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    mkdirSync(dataDir, { recursive: true });
    const lock = DataDirLock.acquire(dataDir);
    cleanups.push(() => lock.release());
    const db: Db = openDatabase(dataDir);
    cleanups.push(() => void db.close());
    const log: LogStore = await openLogStore({
      dataDir,
      db,
      fsync: options.fsync,
      fsyncIntervalMs: options.fsyncIntervalMs,
      topicDefaults: options.kafka.topicDefaults,
      logger: logger.child('log'),
    });
    cleanups.push(() => log.close());
    const ctx: BrokerContext = { options, logger, db, log, closing: abort.signal };

    const doors: Array<[string, Door]> = [];
    const kafka = await startKafkaDoor({ ...ctx, logger: logger.child('kafka') });
    cleanups.push(() => kafka.close());
    doors.push(['kafka', kafka]);
    const amqp = await startAmqpDoor({ ...ctx, logger: logger.child('amqp') });
    cleanups.push(() => amqp.close());
    doors.push(['amqp', amqp]);
    const jobs = jobEmitter(dataDir);
    cleanups.push(() => jobs.close());
    const schedules = startBrokerSchedules({
      db,
      log,
      logger: logger.child('schedule'),
      schedules: options.schedules,
      emitters: {
        amqp: amqpEmitter((vhost, exchange, key, body, props) => amqp.publish(vhost, exchange, key, body, toBasicProperties(props))),
        job: jobs.emit,
      },
    });
    cleanups.push(() => schedules.stop());
    const http = await startHttpDoor({ ...ctx, logger: logger.child('http') }, { doors, groups: kafka.groups, schedules, amqp, kafkaRequests: (l) => kafka.onRequest(l), kafkaTraffic: (topic) => kafka.traffic(topic), onKafkaTopicDeleted: (topic) => kafka.forgetTopic(topic) });
    cleanups.push(() => http.close());
    // Runs first (cleanups run in reverse): parked long polls answer at once instead of at their timeout.
    cleanups.push(() => abort.abort());

    const host = hostForUrl(options.host);
    const bootstrap = `${host}:${kafka.port}`;
    const amqpUrl = `amqp://${host}:${amqp.port}`;
    const httpUrl = `http://${host}:${http.port}`;
    const readyLine = `railyard ready kafka=${bootstrap} amqp=${amqpUrl} http=${httpUrl}`;
    logger.info('ready', { dataDir, kafka: bootstrap, amqp: amqpUrl, http: httpUrl, fsync: options.fsync });

    let stopping: Promise<void> | undefined;
    return {
      kafka: { bootstrap, port: kafka.port },
      amqp: { url: amqpUrl, port: amqp.port },
      http: { url: httpUrl, port: http.port },
      dataDir,
      readyLine,
      stop: () => (stopping ??= runCleanups()),
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
