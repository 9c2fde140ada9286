/** One call for src/broker.ts: the broker's schedules with the emitters it has, configured ones applied. */
import type { Db } from '../../store/sqlite.js';
import type { Logger } from '../../logger.js';
import type { LogStore } from '../../log/types.js';
import { InvalidArgumentError } from '../../errors.js';
import { BrokerScheduler } from './broker-scheduler.js';
import { kafkaEmitter } from './kafka-emitter.js';
import type { Emitters } from './types.js';

export interface BrokerSchedulesOptions {
  db: Db;
  log: LogStore;
  logger: Logger;
  /** Definitions from the config file; each is created or replaced at startup. */
  schedules?: readonly unknown[];
  /** Emitters of the other doors (AMQP, jobs) as they become available. */
  emitters?: Omit<Emitters, 'kafka'>;
}

export function startBrokerSchedules(opts: BrokerSchedulesOptions): BrokerScheduler {
  const scheduler = new BrokerScheduler({ db: opts.db, logger: opts.logger, emitters: { ...opts.emitters, kafka: kafkaEmitter(opts.log) } });
  (opts.schedules ?? []).forEach((def, i) => {
    try {
      scheduler.put(def);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`schedules[${i}].${err.argument}`, err.value, err.message);
      throw err;
    }
  });
  scheduler.start();
  return scheduler;
}
