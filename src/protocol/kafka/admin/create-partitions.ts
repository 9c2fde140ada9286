import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import type { CreatePartitionsRequest, CreatePartitionsResponseInput } from '../generated/index.js';
import { AdminErrorCode as E, OK, adminError, duplicates, toAdminError, type AdminError } from './errors.js';

type CreatePartitionsTopic = CreatePartitionsRequest['topics'][number];

function grow(ctx: BrokerContext, t: CreatePartitionsTopic, validateOnly: boolean): AdminError {
  const info = ctx.log.topic(t.name);
  if (!info) return adminError(E.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
  if (t.count <= info.partitions) {
    return adminError(E.INVALID_PARTITIONS, `Topic currently has ${info.partitions} partitions, which is higher than or equal to the requested ${t.count}.`);
  }
  if (t.assignments) {
    const added = t.count - info.partitions;
    if (t.assignments.length !== added) {
      return adminError(E.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${added} but ${t.assignments.length} assignments provided.`);
    }
    const bad = t.assignments.find((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== 0);
    if (bad) return adminError(E.INVALID_REPLICA_ASSIGNMENT, `New partitions must be assigned to broker 0 alone (the only broker), not [${bad.brokerIds.join(', ')}].`);
  }
  try {
    ctx.log.createPartitions(t.name, t.count, validateOnly);
    return OK;
  } catch (err) {
    return toAdminError(err, ctx.logger, 'CreatePartitions');
  }
}

/** CreatePartitions 0–1: grows a topic; manual assignments must name broker 0. */
export function createCreatePartitionsHandler(ctx: BrokerContext): KafkaApiHandler<CreatePartitionsRequest, CreatePartitionsResponseInput> {
  return {
    apiKey: 37,
    minVersion: 0,
    maxVersion: 1,
    handle(req) {
      const dup = duplicates(req.topics.map((t) => t.name));
      const results = req.topics.map((t) => {
        const r = dup.has(t.name)
          ? adminError(E.INVALID_REQUEST, `Duplicate topic in request: ${t.name}.`)
          : grow(ctx, t, req.validateOnly);
        return { name: t.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
