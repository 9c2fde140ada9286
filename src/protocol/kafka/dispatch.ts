import { ProtocolError, type FrameProcessor, type ResponseFrame } from './connection.js';
import type { ConnectionInfo, KafkaApiHandler, RequestContext } from './handler.js';
import { API_VERSIONS_KEY, unsupportedApiVersionsBody, type ApiRange } from './api-versions.js';
import { API_NAMES, decodeRequest, decodeRequestHeader, encodeResponse, encodeResponseHeader } from './generated/index.js';
import { Reader, Writer } from './wire.js';
import type { ReadBuffers } from '../../log/slab.js';

/** apiKey, apiVersion and correlationId: the part of every request header whose layout never changes. */
const FIXED_HEADER_BYTES = 8;

export interface HandlerTable {
  get(apiKey: number): KafkaApiHandler | undefined;
  /** Every served API's [min, max], sorted by key, as ApiVersions advertises them. */
  ranges(): readonly ApiRange[];
}

export function createHandlerTable(handlers: readonly KafkaApiHandler[]): HandlerTable {
  const byKey = new Map<number, KafkaApiHandler>();
  for (const h of handlers) {
    if (byKey.has(h.apiKey)) throw new Error(`two handlers for Kafka API key ${h.apiKey}`);
    byKey.set(h.apiKey, h);
  }
  const ranges: readonly ApiRange[] = [...byKey.values()]
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
  return { get: (k) => byKey.get(k), ranges: () => ranges };
}

/** A handler or the response encoder threw: names the request so the log line says what broke. */
export class RequestFailedError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'RequestFailedError';
  }
}

function apiName(apiKey: number): string {
  return API_NAMES[apiKey] ?? `API ${apiKey}`;
}

/**
 * The request pipeline of one connection: decode the header and body, call the handler, encode the
 * answer. Everything up to the handler call is synchronous, so a frame that cannot be served closes
 * the connection before any later frame runs. One Writer per connection: its slab is reused across
 * responses and the chunks it hands out stay valid while the socket holds them.
 */
/** Told each request's API and time from decoded frame to encoded answer (for latency metrics). */
export type RequestObserver = (api: string, durationMs: number) => void;

export function createDispatcher(table: HandlerTable, conn: ConnectionInfo, observe?: RequestObserver): FrameProcessor {
  const writer = new Writer();
  const encode = (apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer[] => {
    try {
      encodeResponseHeader(writer, apiKey, apiVersion, correlationId);
      encodeResponse(apiKey, apiVersion, writer, body);
    } catch (err) {
      // Drop the partial frame so the next response starts clean.
      writer.finishFrame();
      throw err;
    }
    return writer.finishFrame();
  };

  return {
    process(frame: Buffer, loaned = false, lease?: ReadBuffers): ResponseFrame | Promise<ResponseFrame> {
      const started = observe ? performance.now() : 0;
      if (frame.length < FIXED_HEADER_BYTES) throw new ProtocolError(`request of ${frame.length} bytes is shorter than a request header`);
      const apiKey = frame.readInt16BE(0);
      const apiVersion = frame.readInt16BE(2);
      const correlationId = frame.readInt32BE(4);
      const handler = table.get(apiKey);
      if (!handler) throw new ProtocolError(`unknown API key ${apiKey}`);
      if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
        // How a client newer than us learns our ranges: error 35 in the v0 layout, which it can always read.
        if (apiKey === API_VERSIONS_KEY) return encode(apiKey, 0, correlationId, unsupportedApiVersionsBody(table.ranges()));
        throw new ProtocolError(`${apiName(apiKey)} v${apiVersion} is not supported (${handler.minVersion}-${handler.maxVersion})`);
      }
      let clientId: string | null;
      let body: unknown;
      try {
        const r = new Reader(frame);
        clientId = decodeRequestHeader(r).clientId;
        body = decodeRequest(apiKey, apiVersion, r);
      } catch (err) {
        throw new ProtocolError(`malformed ${apiName(apiKey)} v${apiVersion} request: ${(err as Error).message}`);
      }
      const rc: RequestContext = { apiKey, apiVersion, correlationId, clientId, conn, frameLoaned: loaned, readBuffers: lease };
      const what = `${apiName(apiKey)} v${apiVersion}`;
      const answer = (res: unknown): ResponseFrame => {
        let out: ResponseFrame = null;
        if (res !== null) {
          try {
            out = encode(apiKey, apiVersion, correlationId, res);
          } catch (err) {
            throw new RequestFailedError(`encoding the ${what} response`, err);
          }
        }
        observe?.(apiName(apiKey), performance.now() - started);
        return out;
      };
      let res: unknown;
      try {
        res = handler.handle(body, rc);
      } catch (err) {
        throw new RequestFailedError(`${what} handler`, err);
      }
      if (res instanceof Promise) {
        return res.then(answer, (err: unknown) => {
          throw new RequestFailedError(`${what} handler`, err);
        });
      }
      return answer(res);
    },
  };
}
