import type { BrokerContext } from '../../../context.js';
import { migrate, type Db } from '../../../store/sqlite.js';
import type { KafkaApiHandler } from '../handler.js';
import type { InitProducerIdRequest, InitProducerIdResponseInput } from '../generated/index.js';
import { fencedCode } from '../txn/errors.js';

const INVALID_REQUEST = 42;
/** InitProducerId answers PRODUCER_FENCED from v4 (KIP-588), INVALID_PRODUCER_EPOCH before. */
const FENCED_FROM_VERSION = 4;
const INVALID_TRANSACTION_TIMEOUT = 50;
/** Kafka's `transaction.max.timeout.ms` default (15 minutes). */
const MAX_TRANSACTION_TIMEOUT_MS = 900_000;
/** Epochs are int16; Kafka moves a producer to a fresh id before the epoch can overflow. */
const MAX_EPOCH = 32767;

const MIGRATIONS = [
  `CREATE TABLE kafka_producer_id_seq (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 0),
     next_id INTEGER NOT NULL
   );
   INSERT INTO kafka_producer_id_seq (singleton, next_id) VALUES (0, 0);
   CREATE TABLE kafka_transactional_producers (
     transactional_id TEXT PRIMARY KEY,
     producer_id INTEGER NOT NULL,
     producer_epoch INTEGER NOT NULL,
     transaction_timeout_ms INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
];

export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
}

export interface TransactionalProducer extends ProducerIdAndEpoch {
  transactionalId: string;
  transactionTimeoutMs: number;
}

/**
 * Producer ids and the transactional id -> (producer id, epoch) map, in SQLite so that ids are never handed
 * out twice across restarts (the log deduplicates idempotent batches by producer id) and fencing survives
 * a restart. The transaction coordinator reads `get` to check a transactional producer's epoch.
 */
export class ProducerIdStore {
  private readonly nextId: () => number;
  private readonly getStmt;
  private readonly putStmt;
  private readonly db: Db;

  constructor(db: Db) {
    migrate(db, 'kafka-producer-ids', MIGRATIONS);
    this.db = db;
    const next = db.prepare('UPDATE kafka_producer_id_seq SET next_id = next_id + 1 WHERE singleton = 0 RETURNING next_id - 1 AS id');
    this.nextId = () => (next.get() as { id: number }).id;
    this.getStmt = db.prepare(
      'SELECT transactional_id AS transactionalId, producer_id AS producerId, producer_epoch AS producerEpoch, transaction_timeout_ms AS transactionTimeoutMs FROM kafka_transactional_producers WHERE transactional_id = ?',
    );
    this.putStmt = db.prepare(
      `INSERT INTO kafka_transactional_producers (transactional_id, producer_id, producer_epoch, transaction_timeout_ms, updated_at)
       VALUES (@transactionalId, @producerId, @producerEpoch, @transactionTimeoutMs, @updatedAt)
       ON CONFLICT (transactional_id) DO UPDATE SET producer_id = excluded.producer_id, producer_epoch = excluded.producer_epoch,
         transaction_timeout_ms = excluded.transaction_timeout_ms, updated_at = excluded.updated_at`,
    );
  }

  /** A producer id never returned before (by this data dir). */
  allocate(): number {
    return this.nextId();
  }

  get(transactionalId: string): TransactionalProducer | undefined {
    return this.getStmt.get(transactionalId) as TransactionalProducer | undefined;
  }

  /**
   * Registers a transactional producer (epoch 0) or fences its previous incarnation by bumping the epoch.
   * `expected` (InitProducerId v3+, KIP-360) must match the stored id and epoch, else the caller is a zombie.
   */
  initTransactional(transactionalId: string, transactionTimeoutMs: number, expected: ProducerIdAndEpoch | null): { previous?: ProducerIdAndEpoch; current: ProducerIdAndEpoch } | 'fenced' {
    return this.db
      .transaction(() => {
        const existing = this.get(transactionalId);
        let current: ProducerIdAndEpoch;
        if (!existing) {
          current = { producerId: this.nextId(), producerEpoch: 0 };
        } else {
          if (expected && (expected.producerId !== existing.producerId || expected.producerEpoch !== existing.producerEpoch)) return 'fenced' as const;
          current =
            existing.producerEpoch >= MAX_EPOCH - 1
              ? { producerId: this.nextId(), producerEpoch: 0 }
              : { producerId: existing.producerId, producerEpoch: existing.producerEpoch + 1 };
        }
        this.putStmt.run({ transactionalId, ...current, transactionTimeoutMs, updatedAt: Date.now() });
        const previous = existing ? { producerId: existing.producerId, producerEpoch: existing.producerEpoch } : undefined;
        return previous ? { previous, current } : { current };
      })
      .immediate();
  }
}

export interface InitProducerIdHooks {
  /**
   * Called when a transactional id's previous producer is fenced (epoch bump or new id), before the answer is
   * sent: the transaction coordinator aborts that producer's open transaction here.
   */
  onFence?(transactionalId: string, previous: ProducerIdAndEpoch, current: ProducerIdAndEpoch): void | Promise<void>;
}

function failure(errorCode: number): InitProducerIdResponseInput {
  return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
}

/**
 * InitProducerId 0–4. Idempotent producers get a fresh id with epoch 0 every time (as Kafka does, even when
 * they pass their old id). Transactional ids keep their producer id and get the next epoch, fencing the
 * previous session.
 */
export function createInitProducerIdHandler(
  ctx: BrokerContext,
  hooks: InitProducerIdHooks = {},
  store: ProducerIdStore = new ProducerIdStore(ctx.db),
): KafkaApiHandler<InitProducerIdRequest, InitProducerIdResponseInput> {
  return {
    apiKey: 22,
    minVersion: 0,
    maxVersion: 4,
    async handle(req, rc) {
      const txnId = req.transactionalId;
      if (txnId === null) return { throttleTimeMs: 0, errorCode: 0, producerId: store.allocate(), producerEpoch: 0 };
      if (txnId === '') return failure(INVALID_REQUEST);
      if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > MAX_TRANSACTION_TIMEOUT_MS) return failure(INVALID_TRANSACTION_TIMEOUT);
      const expected = rc.apiVersion >= 3 && req.producerId !== -1 ? { producerId: req.producerId, producerEpoch: req.producerEpoch } : null;
      const result = store.initTransactional(txnId, req.transactionTimeoutMs, expected);
      if (result === 'fenced') return failure(fencedCode(rc.apiVersion, FENCED_FROM_VERSION));
      if (result.previous && hooks.onFence) await hooks.onFence(txnId, result.previous, result.current);
      return { throttleTimeMs: 0, errorCode: 0, ...result.current };
    },
  };
}
