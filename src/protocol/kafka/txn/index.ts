import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import { createInitProducerIdHandler, ProducerIdStore } from '../handlers/init-producer-id.js';
import {
  createAddOffsetsToTxnHandler,
  createAddPartitionsToTxnHandler,
  createEndTxnHandler,
  createTxnOffsetCommitHandler,
} from '../handlers/transactions.js';
import { TransactionCoordinator, type TxnOffsetSink } from './coordinator.js';

export { TransactionCoordinator, type TxnOffsetSink } from './coordinator.js';
export type { TxnState } from './store.js';

/** Kafka's transactional.id.expiration.ms default: 7 days. */
const TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 60 * 60 * 1000;
/** How often idle transactional ids are looked for. */
const EXPIRY_SWEEP_MS = 60 * 60 * 1000;

export interface TransactionSupport {
  coordinator: TransactionCoordinator;
  /** InitProducerId (which fences through the coordinator), AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit. */
  handlers: KafkaApiHandler[];
  /** Settles once what the last run left open or half-finished is aborted or completed. */
  recovered: Promise<void>;
  close(): void;
}

/**
 * The transaction coordinator with its API handlers. InitProducerId is created here because fencing a
 * transactional id must abort that id's open transaction before the new epoch is handed out.
 */
export function createTransactionSupport(ctx: BrokerContext, groups: TxnOffsetSink): TransactionSupport {
  const logger = ctx.logger.child('txn');
  const producerIds = new ProducerIdStore(ctx.db);
  const coordinator = new TransactionCoordinator({ db: ctx.db, log: ctx.log, logger, producerIds, groups });
  const recovered = coordinator.recover().catch((err: unknown) => {
    // Markers that could not be written stay decided in SQLite; the next start tries again.
    logger.warn('finishing transactions of the last run failed', { err });
  });
  const sweep = setInterval(() => {
    try {
      coordinator.expireIdle(Date.now(), TRANSACTIONAL_ID_EXPIRATION_MS);
    } catch (err) {
      logger.warn('expiring idle transactional ids failed', { err });
    }
  }, EXPIRY_SWEEP_MS);
  sweep.unref();
  return {
    coordinator,
    handlers: [
      createInitProducerIdHandler(ctx, { onFence: (id, _previous, current) => coordinator.onFence(id, current) }, producerIds),
      createAddPartitionsToTxnHandler(coordinator),
      createAddOffsetsToTxnHandler(coordinator),
      createEndTxnHandler(coordinator),
      createTxnOffsetCommitHandler(coordinator),
    ],
    recovered,
    close: () => {
      clearInterval(sweep);
      coordinator.close();
    },
  };
}
