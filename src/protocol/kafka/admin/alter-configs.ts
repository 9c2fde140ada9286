import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import type { AlterConfigsRequest, AlterConfigsResponseInput } from '../generated/index.js';
import { isOurBroker } from './broker-configs.js';
import { RESOURCE_BROKER, RESOURCE_TOPIC } from './describe-configs.js';
import { AdminErrorCode as E, OK, adminError, duplicates, toAdminError, type AdminError } from './errors.js';

type Resource = AlterConfigsRequest['resources'][number];

function alter(ctx: BrokerContext, r: Resource, validateOnly: boolean): AdminError {
  if (r.resourceType === RESOURCE_BROKER) {
    if (!isOurBroker(r.resourceName)) return adminError(E.INVALID_REQUEST, `Unexpected broker id, expected 0 or empty string, but received ${r.resourceName}.`);
    return adminError(E.INVALID_REQUEST, 'Broker configs are read-only here; set them in the broker options and restart.');
  }
  if (r.resourceType !== RESOURCE_TOPIC) return adminError(E.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}.`);
  if (!ctx.log.topic(r.resourceName)) return adminError(E.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${r.resourceName}' does not exist.`);
  const dup = duplicates(r.configs.map((c) => c.name));
  if (dup.size > 0) return adminError(E.INVALID_REQUEST, `Config ${[...dup].join(', ')} given more than once.`);
  const configs: Record<string, string | null> = {};
  for (const c of r.configs) configs[c.name] = c.value;
  try {
    // AlterConfigs (unlike IncrementalAlterConfigs) replaces the whole set of overrides.
    ctx.log.alterTopicConfigs(r.resourceName, configs, 'replace', validateOnly);
    return OK;
  } catch (err) {
    return toAdminError(err, ctx.logger, 'AlterConfigs');
  }
}

/** AlterConfigs 0–1 with replace semantics on topics; broker settings are read-only. */
export function createAlterConfigsHandler(ctx: BrokerContext): KafkaApiHandler<AlterConfigsRequest, AlterConfigsResponseInput> {
  return {
    apiKey: 33,
    minVersion: 0,
    maxVersion: 1,
    handle(req) {
      const responses = req.resources.map((r) => {
        const e = alter(ctx, r, req.validateOnly);
        return { errorCode: e.errorCode, errorMessage: e.errorMessage, resourceType: r.resourceType, resourceName: r.resourceName };
      });
      return { throttleTimeMs: 0, responses };
    },
  };
}
