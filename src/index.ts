export { startBroker, type Broker } from './broker.js';
export type { BrokerOptions, KafkaOptions, AmqpOptions, AmqpUser, FsyncPolicy } from './config.js';
export type { LogLevel, Logger } from './logger.js';
export { RailyardError, InvalidArgumentError, DataDirError } from './errors.js';
