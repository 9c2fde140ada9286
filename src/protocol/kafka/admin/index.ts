import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import { createAlterConfigsHandler } from './alter-configs.js';
import { createCreatePartitionsHandler } from './create-partitions.js';
import { createCreateTopicsHandler } from './create-topics.js';
import { createDeleteRecordsHandler } from './delete-records.js';
import { createDeleteTopicsHandler } from './delete-topics.js';
import { createDescribeConfigsHandler } from './describe-configs.js';

/** The topic and config administration APIs (all answered by broker 0, the controller). */
export function createAdminHandlers(ctx: BrokerContext): KafkaApiHandler[] {
  return [
    createCreateTopicsHandler(ctx),
    createDeleteTopicsHandler(ctx),
    createCreatePartitionsHandler(ctx),
    createDescribeConfigsHandler(ctx),
    createAlterConfigsHandler(ctx),
    createDeleteRecordsHandler(ctx),
  ];
}
