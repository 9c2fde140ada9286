import type { BrokerContext } from '../../../context.js';
import type { KafkaApiHandler } from '../handler.js';
import type { CreateTopicsRequest, CreateTopicsResponseInput } from '../generated/index.js';
import { AdminErrorCode as E, OK, adminError, duplicates, toAdminError, type AdminError } from './errors.js';

type CreatableTopic = CreateTopicsRequest['topics'][number];

interface Plan {
  partitions: number;
  configs: Record<string, string>;
}

/** Checks what only a single broker can judge (replicas, assignments); names and config values are for the log engine. */
function plan(topic: CreatableTopic, defaultPartitions: number): Plan | AdminError {
  const assignments = topic.assignments;
  let partitions: number;
  if (assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      return adminError(E.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
    }
    const indexes = new Set<number>();
    for (const a of assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== 0) {
        return adminError(E.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} must be assigned to broker 0 alone (the only broker), not [${a.brokerIds.join(', ')}].`);
      }
      indexes.add(a.partitionIndex);
    }
    for (let i = 0; i < assignments.length; i++) {
      if (!indexes.has(i)) {
        return adminError(E.INVALID_REPLICA_ASSIGNMENT, `Partitions should be numbered consecutively from 0; partition ${i} has no assignment.`);
      }
    }
    partitions = assignments.length;
  } else {
    if (topic.replicationFactor !== 1 && topic.replicationFactor !== -1) {
      return adminError(E.INVALID_REPLICATION_FACTOR, `Replication factor: ${topic.replicationFactor} larger than available brokers: 1.`);
    }
    partitions = topic.numPartitions === -1 ? defaultPartitions : topic.numPartitions;
    if (partitions < 1) return adminError(E.INVALID_PARTITIONS, `Number of partitions must be larger than 0 (got ${topic.numPartitions}).`);
  }
  const configs: Record<string, string> = {};
  for (const c of topic.configs) {
    if (c.value === null) return adminError(E.INVALID_CONFIG, `Null value not supported for topic config '${c.name}'.`);
    if (c.name in configs) return adminError(E.INVALID_REQUEST, `Config '${c.name}' is given more than once.`);
    configs[c.name] = c.value;
  }
  return { partitions, configs };
}

/** CreateTopics 2–4: one broker, replication factor 1, configs and validateOnly passed to the log engine. */
export function createCreateTopicsHandler(ctx: BrokerContext): KafkaApiHandler<CreateTopicsRequest, CreateTopicsResponseInput> {
  return {
    apiKey: 19,
    minVersion: 2,
    maxVersion: 4,
    handle(req) {
      const dup = duplicates(req.topics.map((t) => t.name));
      const topics = req.topics.map((topic) => {
        let result: AdminError;
        if (dup.has(topic.name)) {
          result = adminError(E.INVALID_REQUEST, `Create topics request contains multiple entries for topic ${topic.name}.`);
        } else {
          const p = plan(topic, ctx.options.kafka.defaultPartitions);
          if ('errorCode' in p) {
            result = p;
          } else {
            try {
              ctx.log.createTopic(topic.name, { partitions: p.partitions, configs: p.configs, validateOnly: req.validateOnly });
              result = OK;
            } catch (err) {
              result = toAdminError(err, ctx.logger, 'CreateTopics');
            }
          }
        }
        return { name: topic.name, errorCode: result.errorCode, errorMessage: result.errorMessage };
      });
      return { throttleTimeMs: 0, topics };
    },
  };
}
