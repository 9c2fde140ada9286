/** Test support for the Kafka handlers: a real log store in a temp dir, and calls through the real codecs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions, type KafkaOptions } from '../../../src/config.js';
import type { BrokerContext } from '../../../src/context.js';
import { createLogger } from '../../../src/logger.js';
import { openLogStore } from '../../../src/log/index.js';
import { openDatabase } from '../../../src/store/sqlite.js';
import type { KafkaApiHandler, RequestContext } from '../../../src/protocol/kafka/handler.js';
import { Reader, Writer } from '../../../src/protocol/kafka/wire.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/protocol/kafka/generated/index.js';

export interface TestBroker {
  ctx: BrokerContext;
  /** Aborts `ctx.closing`, closes the log and the database, removes the temp dir. */
  close(): Promise<void>;
  /** Simulates a broker shutdown signal without closing anything. */
  abort(): void;
}

export async function openTestBroker(kafka: KafkaOptions = {}, dataDir?: string): Promise<TestBroker> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'railyard-kafka-'));
  const options = resolveOptions({ dataDir: dir, kafka });
  const logger = createLogger('silent');
  const db = openDatabase(dir);
  const log = await openLogStore({ dataDir: dir, db, fsync: 'never', fsyncIntervalMs: 1000, topicDefaults: {}, logger });
  const closer = new AbortController();
  const ctx: BrokerContext = { options, logger, db, log, closing: closer.signal };
  return {
    ctx,
    abort: () => closer.abort(),
    async close() {
      closer.abort();
      await log.close();
      db.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function requestContext(apiKey: number, apiVersion: number, localAddress = '127.0.0.1'): RequestContext {
  return {
    apiKey,
    apiVersion,
    correlationId: 1,
    clientId: 'handler-test',
    conn: { id: 1, remoteAddress: '127.0.0.1', remotePort: 50000, localAddress, localPort: 19092 },
  };
}

/**
 * Encodes `request` as the given version, decodes it as the server would, runs the handler and passes its
 * answer through the response encoder and decoder: the result is what a client would read (null: no answer).
 */
export async function call<Res>(handler: KafkaApiHandler<never, unknown>, version: number, request: unknown, localAddress?: string): Promise<Res | null> {
  const w = new Writer();
  encodeRequest(handler.apiKey, version, w, request);
  const decoded = decodeRequest(handler.apiKey, version, new Reader(w.finish()));
  const answer = await (handler as KafkaApiHandler<unknown, unknown>).handle(decoded, requestContext(handler.apiKey, version, localAddress));
  if (answer === null) return null;
  const out = new Writer();
  encodeResponse(handler.apiKey, version, out, answer);
  const r = new Reader(Buffer.concat(out.finishFrame()), 4);
  const res = decodeResponse(handler.apiKey, version, r) as Res;
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after the response`);
  return res;
}
