import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions, type BrokerOptions } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { openDatabase } from '../../../src/store/sqlite.js';
import type { BrokerContext } from '../../../src/context.js';
import { openLogStore } from '../../../src/log/index.js';
import type { LogStore } from '../../../src/log/types.js';
import { startAmqpDoor, type AmqpDoor, type AmqpDoorOptions } from '../../../src/protocol/amqp/index.js';

export interface TestTarget {
  url: string;
  /** The embedded broker's port; undefined when testing an external broker. */
  port: number | undefined;
  embedded: boolean;
  dataDir: string | undefined;
  stop(): Promise<void>;
  /** Restarts the embedded door on the same data dir (persistence tests). */
  restart(): Promise<void>;
  /** The embedded door, for tests that steer it (alarms); undefined against an external broker. */
  door(): AmqpDoor | undefined;
}

export async function startEmbedded(opts: Omit<BrokerOptions, 'dataDir'> = {}, dataDir?: string, doorOpts: AmqpDoorOptions = {}): Promise<TestTarget> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'railyard-amqp-'));
  let door: AmqpDoor | undefined;
  let db = openDatabase(dir);
  let log: LogStore | undefined;
  const abort = new AbortController();
  // The same context startBroker builds (minus the other doors): options, logger, SQLite, Kafka log store.
  const start = async () => {
    const options = resolveOptions({ ...opts, host: opts.host ?? '127.0.0.1', dataDir: dir });
    const logger = createLogger(options.logLevel ?? 'silent');
    log = await openLogStore({ dataDir: dir, db, fsync: options.fsync, fsyncIntervalMs: options.fsyncIntervalMs, topicDefaults: options.kafka.topicDefaults, logger });
    const ctx: BrokerContext = { options, logger, db, log, closing: abort.signal };
    door = await startAmqpDoor(ctx, doorOpts);
    return door;
  };
  const d = await start();
  const target: TestTarget = {
    url: `amqp://guest:guest@127.0.0.1:${d.port}`,
    port: d.port,
    embedded: true,
    dataDir: dir,
    async stop() {
      await door?.close();
      await log?.close();
      db.close();
      if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
    door: () => door,
    async restart() {
      const port = door!.port;
      await door!.close();
      await log?.close();
      db.close();
      db = openDatabase(dir);
      opts = { ...opts, amqpPort: port };
      await start();
    },
  };
  return target;
}

/** `RAILYARD_AMQP_URL` points the suite at a real RabbitMQ; otherwise an embedded door on port 0. */
export async function startTarget(opts: Omit<BrokerOptions, 'dataDir'> = {}): Promise<TestTarget> {
  const external = process.env.RAILYARD_AMQP_URL;
  if (external) {
    return { url: external, port: undefined, embedded: false, dataDir: undefined, stop: async () => {}, restart: async () => {}, door: () => undefined };
  }
  return startEmbedded(opts);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function eventually<T>(fn: () => T | Promise<T>, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

type ErrorEmitter = { on(event: 'error', fn: (e: Error) => void): unknown };

/** amqplib raises channel errors as 'error' events as well as rejections; tests assert the rejection. */
export async function channel<C extends ErrorEmitter>(conn: { createChannel(): Promise<C> }): Promise<C> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

// The confirm channel is its own type: its publish and sendToQueue take the confirm callback.
export async function confirmChannel<C extends ErrorEmitter & { waitForConfirms(): Promise<void> }>(conn: { createConfirmChannel(): Promise<C> }): Promise<C> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}
