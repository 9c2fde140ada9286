import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import type { DeleteTopicsRequest, DeleteTopicsResponseInput } from '../generated/index.js';
import { AdminErrorCode as E, toAdminError } from './errors.js';
import type { AdminHooks } from './index.js';

/** DeleteTopics 1–3 (by name; topic ids arrive only in v6). */
export function createDeleteTopicsHandler(ctx: BrokerContext, hooks: AdminHooks = {}): KafkaApiHandler<DeleteTopicsRequest, DeleteTopicsResponseInput> {
  return {
    apiKey: 20,
    minVersion: 1,
    maxVersion: 3,
    async handle(req) {
      const names = [...new Set(req.topicNames)];
      const responses = await Promise.all(
        names.map(async (name) => {
          if (!ctx.log.topic(name)) return { name, errorCode: E.UNKNOWN_TOPIC_OR_PARTITION };
          try {
            await ctx.log.deleteTopic(name);
            hooks.onTopicDeleted?.(name);
            return { name, errorCode: 0 };
          } catch (err) {
            return { name, errorCode: toAdminError(err, ctx.logger, 'DeleteTopics').errorCode };
          }
        }),
      );
      return { throttleTimeMs: 0, responses };
    },
  };
}
