import type { Logger } from '../../../logger.js';
import { LogError } from '../../../log/types.js';

/** Kafka error codes the admin APIs answer with that the log engine never raises. */
export const AdminErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  OFFSET_OUT_OF_RANGE: 1,
} as const;

export interface AdminError {
  errorCode: number;
  errorMessage: string | null;
}

export const OK: AdminError = { errorCode: 0, errorMessage: null };

export function adminError(errorCode: number, errorMessage: string): AdminError {
  return { errorCode, errorMessage };
}

/** The log engine's errors carry their Kafka code; anything else is a bug worth a log line. */
export function toAdminError(err: unknown, logger: Logger, what: string): AdminError {
  if (err instanceof LogError) return { errorCode: err.code, errorMessage: err.message };
  logger.error(`${what} failed`, { err });
  return { errorCode: AdminErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: err instanceof Error ? err.message : String(err) };
}

/** Names that occur more than once in one request; Kafka refuses all of their entries. */
export function duplicates(names: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) (seen.has(n) ? dup : seen).add(n);
  return dup;
}
