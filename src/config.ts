import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';
import { isLogLevel, type LogLevel } from './logger.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** Kafka door settings; topic defaults use Kafka's own config names where Kafka has one. */
export interface KafkaOptions {
  /** `auto.create.topics.enable` (default true). */
  autoCreateTopics?: boolean;
  /** `num.partitions` for auto-created topics (default 1). */
  defaultPartitions?: number;
  /** Largest request frame accepted, bytes (`socket.request.max.bytes`, default 100 MiB). */
  maxFrameBytes?: number;
  /** Broker-wide topic config defaults, e.g. `{ 'segment.bytes': '1073741824' }`. */
  topicDefaults?: Record<string, string>;
  /** Host name put in Metadata responses; by default the address the client connected to. */
  advertisedHost?: string;
  /** Group rebalance delay for the first member (`group.initial.rebalance.delay.ms`, default 0 here). */
  initialRebalanceDelayMs?: number;
}

export interface AmqpUser {
  name: string;
  /** Either a plain password (hashed on load) or `passwordHash` as produced by `railyard hash-password`. */
  password?: string;
  passwordHash?: string;
  vhosts?: string[];
  tags?: string[];
}

export interface AmqpOptions {
  users?: AmqpUser[];
  vhosts?: string[];
  /** Heartbeat interval the server proposes, seconds (RabbitMQ: 60). */
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
}

export interface BrokerOptions {
  /** Data directory. `startBroker()` without one uses a fresh temporary directory that `stop()` removes. */
  dataDir?: string;
  /** Interface to listen on; `localhost` listens on both 127.0.0.1 and ::1. */
  host?: string;
  kafkaPort?: number;
  amqpPort?: number;
  httpPort?: number;
  fsync?: FsyncPolicy;
  /** Interval for `fsync: 'interval'`, ms (default 1000). */
  fsyncIntervalMs?: number;
  logLevel?: LogLevel;
  kafka?: KafkaOptions;
  amqp?: AmqpOptions;
  /**
   * The broker's own schedules (see src/scheduler/README.md): each is created or replaced at start,
   * e.g. `{ name, expression: '0 * * * *', target: { type: 'kafka', topic, value } }`.
   */
  schedules?: unknown[];
}

export interface ResolvedOptions {
  dataDir: string;
  host: string;
  kafkaPort: number;
  amqpPort: number;
  httpPort: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  logLevel?: LogLevel;
  kafka: Required<Omit<KafkaOptions, 'advertisedHost'>> & { advertisedHost?: string };
  amqp: AmqpOptions;
  schedules: unknown[];
}

export const CLI_DEFAULTS = { dataDir: './.railyard', host: 'localhost', kafkaPort: 9092, amqpPort: 5672, httpPort: 8080 } as const;

function checkPort(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new InvalidArgumentError(name, v, 'an integer port between 0 and 65535');
  }
  return v;
}

function checkFsync(v: unknown): FsyncPolicy {
  if (v !== 'always' && v !== 'interval' && v !== 'never') {
    throw new InvalidArgumentError('fsync', v, "one of 'always', 'interval', 'never'");
  }
  return v;
}

function checkSchedules(v: unknown): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new InvalidArgumentError('schedules', v, 'an array of schedule definitions');
  return v;
}

/** Validates options and fills defaults; `dataDir` must already be decided by the caller. */
export function resolveOptions(opts: BrokerOptions & { dataDir: string }): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') throw new InvalidArgumentError('opts', opts, 'an object');
  if (typeof opts.dataDir !== 'string' || opts.dataDir === '') throw new InvalidArgumentError('dataDir', opts.dataDir, 'a directory path');
  const host = opts.host ?? 'localhost';
  if (typeof host !== 'string' || host === '') throw new InvalidArgumentError('host', host, 'a host name or address');
  if (opts.logLevel !== undefined && !isLogLevel(opts.logLevel)) {
    throw new InvalidArgumentError('logLevel', opts.logLevel, 'debug, info, warn, error or silent');
  }
  const k = opts.kafka ?? {};
  const defaultPartitions = k.defaultPartitions ?? 1;
  if (!Number.isInteger(defaultPartitions) || defaultPartitions < 1) {
    throw new InvalidArgumentError('kafka.defaultPartitions', defaultPartitions, 'an integer >= 1');
  }
  const maxFrameBytes = k.maxFrameBytes ?? 100 * 1024 * 1024;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1024) {
    throw new InvalidArgumentError('kafka.maxFrameBytes', maxFrameBytes, 'an integer >= 1024');
  }
  const fsyncIntervalMs = opts.fsyncIntervalMs ?? 1000;
  if (!Number.isInteger(fsyncIntervalMs) || fsyncIntervalMs < 1) {
    throw new InvalidArgumentError('fsyncIntervalMs', fsyncIntervalMs, 'an integer >= 1');
  }
  return {
    dataDir: opts.dataDir,
    host,
    kafkaPort: checkPort('kafkaPort', opts.kafkaPort ?? 0),
    amqpPort: checkPort('amqpPort', opts.amqpPort ?? 0),
    httpPort: checkPort('httpPort', opts.httpPort ?? 0),
    fsync: checkFsync(opts.fsync ?? 'interval'),
    fsyncIntervalMs,
    logLevel: opts.logLevel,
    kafka: {
      autoCreateTopics: k.autoCreateTopics ?? true,
      defaultPartitions,
      maxFrameBytes,
      topicDefaults: { ...(k.topicDefaults ?? {}) },
      advertisedHost: k.advertisedHost,
      initialRebalanceDelayMs: k.initialRebalanceDelayMs ?? 0,
    },
    amqp: opts.amqp ?? {},
    schedules: checkSchedules(opts.schedules),
  };
}

/** Reads a JSON config file whose keys are those of `BrokerOptions`. */
export function readConfigFile(path: string): BrokerOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError('--config', path, `a readable file: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('top level must be an object');
    return parsed as BrokerOptions;
  } catch (err) {
    throw new InvalidArgumentError('--config', path, `a JSON object: ${(err as Error).message}`);
  }
}
