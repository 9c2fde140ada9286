/** Kafka error codes the transaction coordinator answers with. */
export const TxnError = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_NOT_AVAILABLE: 15,
  INVALID_GROUP_ID: 24,
  INVALID_REQUEST: 42,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  CONCURRENT_TRANSACTIONS: 51,
  OPERATION_NOT_ATTEMPTED: 55,
  PRODUCER_FENCED: 90,
} as const;

/**
 * KIP-588 gave fencing its own code, PRODUCER_FENCED; a request older than the version that introduced
 * it (AddPartitionsToTxn/AddOffsetsToTxn/EndTxn v2, InitProducerId v4) gets INVALID_PRODUCER_EPOCH,
 * which those clients already treat as fatal.
 */
export function fencedCode(apiVersion: number, firstVersionWithFenced: number): number {
  return apiVersion >= firstVersionWithFenced ? TxnError.PRODUCER_FENCED : TxnError.INVALID_PRODUCER_EPOCH;
}
