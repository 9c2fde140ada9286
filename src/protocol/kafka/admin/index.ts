import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import { createAlterConfigsHandler } from './alter-configs.js';
import { createCreatePartitionsHandler } from './create-partitions.js';
import { createCreateTopicsHandler } from './create-topics.js';
import { createDeleteRecordsHandler } from './delete-records.js';
import { createDeleteTopicsHandler } from './delete-topics.js';
import { createDescribeConfigsHandler } from './describe-configs.js';

export interface AdminHooks {
  /** After a topic's log is gone: state kept elsewhere about it (committed offsets) goes too, as in Kafka. */
  onTopicDeleted?(name: string): void;
}

/** The topic and config administration APIs (all answered by broker 0, the controller). */
export function createAdminHandlers(ctx: BrokerContext, hooks: AdminHooks = {}): KafkaApiHandler[] {
  return [
    createCreateTopicsHandler(ctx),
    createDeleteTopicsHandler(ctx, hooks),
    createCreatePartitionsHandler(ctx),
    createDescribeConfigsHandler(ctx),
    createAlterConfigsHandler(ctx),
    createDeleteRecordsHandler(ctx),
  ];
}
