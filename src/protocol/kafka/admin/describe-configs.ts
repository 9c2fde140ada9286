import type { BrokerContext } from '../../../context.js';
import type { ConfigEntry } from '../../../log/types.js';
import type { KafkaApiHandler } from '../handler.js';
import type { DescribeConfigsRequest, DescribeConfigsResponseInput } from '../generated/index.js';
import { brokerConfigs, isOurBroker } from './broker-configs.js';
import { AdminErrorCode as E, OK, adminError, toAdminError, type AdminError } from './errors.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

type Resource = DescribeConfigsRequest['resources'][number];

function entriesOf(ctx: BrokerContext, r: Resource): ConfigEntry[] | AdminError {
  if (r.resourceType === RESOURCE_TOPIC) {
    if (!ctx.log.topic(r.resourceName)) return adminError(E.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${r.resourceName}' does not exist.`);
    try {
      return ctx.log.describeConfigs(r.resourceName);
    } catch (err) {
      return toAdminError(err, ctx.logger, 'DescribeConfigs');
    }
  }
  if (r.resourceType === RESOURCE_BROKER) {
    if (!isOurBroker(r.resourceName)) return adminError(E.INVALID_REQUEST, `Unexpected broker id, expected 0 or empty string, but received ${r.resourceName}.`);
    return brokerConfigs(ctx.options);
  }
  return adminError(E.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}.`);
}

/** DescribeConfigs 1–2: topic configs from the log engine, broker configs from the start options. */
export function createDescribeConfigsHandler(ctx: BrokerContext): KafkaApiHandler<DescribeConfigsRequest, DescribeConfigsResponseInput> {
  return {
    apiKey: 32,
    minVersion: 1,
    maxVersion: 2,
    handle(req) {
      const results = req.resources.map((r) => {
        const found = entriesOf(ctx, r);
        const error = Array.isArray(found) ? OK : found;
        let entries = Array.isArray(found) ? found : [];
        if (r.configurationKeys) {
          const wanted = new Set(r.configurationKeys);
          entries = entries.filter((e) => wanted.has(e.name));
        }
        return {
          errorCode: error.errorCode,
          errorMessage: error.errorMessage,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: entries.map((e) => ({
            name: e.name,
            value: e.sensitive ? null : e.value,
            readOnly: e.readOnly,
            isDefault: e.isDefault,
            configSource: e.source,
            isSensitive: e.sensitive,
            synonyms: req.includeSynonyms ? [{ name: e.name, value: e.sensitive ? null : e.value, source: e.source }] : [],
            configType: 0,
            documentation: null,
          })),
        };
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
