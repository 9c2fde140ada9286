import { decodeResponse, decodeResponseHeader, encodeRequest, encodeRequestHeader } from '../../src/protocol/kafka/generated/index.js';
import { Reader, Writer } from '../../src/protocol/kafka/wire.js';
import type { RawKafkaClient } from './kafka-raw.js';

/** A request frame encoded with the generated codecs, for APIs too big to write by hand in a test. */
export function encodedRequest(apiKey: number, apiVersion: number, correlationId: number, body: unknown, clientId = 'codec-test'): Buffer {
  const w = new Writer();
  encodeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId });
  encodeRequest(apiKey, apiVersion, w, body);
  return Buffer.concat(w.finishFrame());
}

export function decodedResponse<T>(frame: Buffer, apiKey: number, apiVersion: number): { correlationId: number; body: T } {
  const r = new Reader(frame);
  const correlationId = decodeResponseHeader(r, apiKey, apiVersion);
  return { correlationId, body: decodeResponse(apiKey, apiVersion, r) as T };
}

/** Sends one request and decodes its answer. */
export async function roundTrip<T>(c: RawKafkaClient, apiKey: number, apiVersion: number, correlationId: number, body: unknown): Promise<T> {
  await c.write(encodedRequest(apiKey, apiVersion, correlationId, body));
  const res = decodedResponse<T>(await c.nextFrame(), apiKey, apiVersion);
  if (res.correlationId !== correlationId) throw new Error(`correlation id ${res.correlationId}, expected ${correlationId}`);
  return res.body;
}
