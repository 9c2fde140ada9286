import type { BrokerContext } from '../../../context.js';
import { LogError, LogErrorCode, type TopicInfo } from '../../../log/types.js';
import type { KafkaApiHandler, RequestContext } from '../handler.js';
import type {
  MetadataRequest,
  MetadataResponseInput,
  MetadataResponseMetadataResponsePartitionInput,
  MetadataResponseMetadataResponseTopicInput,
} from '../generated/index.js';

/** The single broker's node id; it is also the controller and every partition's leader. */
export const BROKER_ID = 0;
/** Reported in Metadata v2+; clients only compare it between brokers of one bootstrap list. */
export const CLUSTER_ID = 'railyard-single-node-0';

const UNKNOWN_SERVER_ERROR = -1;

/** Kafka's topic name rule: 1–249 of [a-zA-Z0-9._-], and not "." or "..". */
export function isValidTopicName(name: string): boolean {
  return name.length > 0 && name.length <= 249 && name !== '.' && name !== '..' && /^[a-zA-Z0-9._-]+$/.test(name);
}

/**
 * The address clients should dial back: the configured one, else the one this connection reached.
 * A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; the plain IPv4 form works for every client.
 */
export function advertisedHost(ctx: BrokerContext, rc: RequestContext): string {
  if (ctx.options.kafka.advertisedHost) return ctx.options.kafka.advertisedHost;
  const local = rc.conn.localAddress;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(local);
  return mapped ? mapped[1]! : local;
}

/**
 * Looks a topic up, creating it with the broker's default partition count when auto-creation is on.
 * Returns the topic or the Kafka error code that explains its absence.
 */
export function resolveTopic(ctx: BrokerContext, name: string, allowCreate: boolean): TopicInfo | number {
  const existing = ctx.log.topic(name);
  if (existing) return existing;
  if (!isValidTopicName(name)) return LogErrorCode.INVALID_TOPIC_EXCEPTION;
  if (!allowCreate || !ctx.options.kafka.autoCreateTopics) return LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  try {
    return ctx.log.createTopic(name, { partitions: ctx.options.kafka.defaultPartitions });
  } catch (err) {
    // a concurrent creator won the race: use its topic
    if (err instanceof LogError && err.code === LogErrorCode.TOPIC_ALREADY_EXISTS) return ctx.log.topic(name) ?? err.code;
    if (err instanceof LogError) return err.code;
    ctx.logger.error('auto-creating a topic failed', { topic: name, err });
    return UNKNOWN_SERVER_ERROR;
  }
}

function describeTopic(t: TopicInfo): MetadataResponseMetadataResponseTopicInput {
  const partitions: MetadataResponseMetadataResponsePartitionInput[] = [];
  for (let i = 0; i < t.partitions; i++) {
    partitions.push({ errorCode: 0, partitionIndex: i, leaderId: BROKER_ID, leaderEpoch: 0, replicaNodes: [BROKER_ID], isrNodes: [BROKER_ID], offlineReplicas: [] });
  }
  return { errorCode: 0, name: t.name, topicId: t.id, isInternal: false, partitions };
}

/** Metadata 0–6: one broker that leads every partition; auto-creates requested topics when allowed. */
export function createMetadataHandler(ctx: BrokerContext): KafkaApiHandler<MetadataRequest, MetadataResponseInput> {
  return {
    apiKey: 3,
    minVersion: 0,
    maxVersion: 6,
    handle(req, rc) {
      const v = rc.apiVersion;
      // v0 has no null: an empty list asks for every topic; from v1 null does and an empty list asks for none
      const all = req.topics === null || (v === 0 && req.topics.length === 0);
      const topics: MetadataResponseMetadataResponseTopicInput[] = [];
      if (all) {
        const infos = ctx.log.topics().slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const t of infos) topics.push(describeTopic(t));
      } else {
        // allowAutoTopicCreation exists from v4; earlier versions always allowed it
        const allowCreate = v < 4 || req.allowAutoTopicCreation;
        const seen = new Set<string>();
        for (const { name } of req.topics!) {
          if (name === null || seen.has(name)) continue;
          seen.add(name);
          const t = resolveTopic(ctx, name, allowCreate);
          topics.push(typeof t === 'number' ? { errorCode: t, name, isInternal: false, partitions: [] } : describeTopic(t));
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: BROKER_ID, host: advertisedHost(ctx, rc), port: rc.conn.localPort, rack: null }],
        clusterId: CLUSTER_ID,
        controllerId: BROKER_ID,
        topics,
      };
    },
  };
}
