import type { ResolvedOptions } from '../../../config.js';
import type { ConfigEntry } from '../../../log/types.js';

/** Kafka ConfigSource for settings fixed at broker start. */
const STATIC_BROKER_CONFIG = 4;

/**
 * The broker-level settings DescribeConfigs shows for broker 0, under Kafka's names. They come from
 * the options the broker started with and cannot be altered over the wire.
 */
export function brokerConfigs(options: ResolvedOptions): ConfigEntry[] {
  const k = options.kafka;
  const values: Array<[string, string]> = [
    ['broker.id', '0'],
    ['log.dirs', options.dataDir],
    ['auto.create.topics.enable', String(k.autoCreateTopics)],
    ['num.partitions', String(k.defaultPartitions)],
    ['default.replication.factor', '1'],
    ['min.insync.replicas', '1'],
    ['offsets.topic.replication.factor', '1'],
    ['transaction.state.log.replication.factor', '1'],
    ['socket.request.max.bytes', String(k.maxFrameBytes)],
    ['group.initial.rebalance.delay.ms', String(k.initialRebalanceDelayMs)],
  ];
  if (k.advertisedHost !== undefined) values.push(['advertised.listeners', `PLAINTEXT://${k.advertisedHost}:${options.kafkaPort}`]);
  return values.map(([name, value]) => ({ name, value, readOnly: true, isDefault: false, sensitive: false, source: STATIC_BROKER_CONFIG }));
}

/** Kafka accepts the broker's own id or the empty string (cluster-wide defaults) as a broker resource name. */
export function isOurBroker(resourceName: string): boolean {
  return resourceName === '' || resourceName === '0';
}
