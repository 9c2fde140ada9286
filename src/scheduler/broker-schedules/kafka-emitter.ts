/** Emits a schedule's slot as one record appended to a Kafka topic partition of the broker's log. */
import { encodeRecordBatch, type LogStore } from '../../log/index.js';
import { fillTemplate, type Emitter, type KafkaTarget } from './types.js';

export function kafkaEmitter(log: LogStore): Emitter<KafkaTarget> {
  return async (target, ctx) => {
    const index = target.partition ?? 0;
    const partition = log.partition(target.topic, index);
    if (!partition) throw new Error(`topic ${target.topic} has no partition ${index}`);
    const headers = Object.entries(target.headers ?? {}).map(([key, value]) => ({ key, value: Buffer.from(fillTemplate(value, ctx)) }));
    headers.push({ key: 'railyard-schedule', value: Buffer.from(ctx.name) });
    const batch = encodeRecordBatch({
      records: [{
        key: target.key === undefined ? undefined : Buffer.from(fillTemplate(target.key, ctx)),
        value: Buffer.from(fillTemplate(target.value, ctx)),
        headers,
        timestamp: ctx.slot,
      }],
    });
    await partition.append(batch);
  };
}
