/** The seam between the Kafka server (framing, ordering) and the handlers of each API. */
import type { ReadBuffers } from '../../log/slab.js';

export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  /** The address the client reached us on; Metadata advertises it unless `kafka.advertisedHost` is set. */
  localAddress: string;
  localPort: number;
  /** Aborted when the socket closes, so parked work (long polls) for a gone client ends at once. */
  closed?: AbortSignal;
}

export interface RequestContext {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  conn: ConnectionInfo;
  /**
   * The request's buffer is reused once the handler's answer settles: nothing decoded from it (record
   * bytes included) may be kept, and work still reading it must finish before the answer settles.
   */
  frameLoaned?: boolean;
  /** Memory for record bytes read for the response; recycled once the response is written. */
  readBuffers?: ReadBuffers;
}

/**
 * Serves one Kafka API over [minVersion, maxVersion], the range advertised in ApiVersions.
 * `handle` gets the decoded request body (generated types, camelCase fields) and returns the response
 * body; a promise delays only this connection's later responses (answers stay in request order).
 * Returning null sends no response (Produce with acks=0). Per-partition and per-topic failures are
 * answered with Kafka error codes in the body; a thrown error closes the connection.
 */
export interface KafkaApiHandler<Req = unknown, Res = unknown> {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  handle(req: Req, rc: RequestContext): Res | null | Promise<Res | null>;
}
