import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Histogram, Registry } from 'prom-client';
import type { LogStore } from '../log/types.js';
import type { GroupCoordinator } from '../protocol/kafka/groups/index.js';
import type { KafkaTrafficSource } from '../protocol/kafka/traffic.js';
import type { ScheduleEmitSample } from '../scheduler/broker-schedules/broker-scheduler.js';
import { PROMETHEUS_CONTENT_TYPE, labelledHistogram, promClient } from './prom-client.js';
import { escapeLabel, familyHeader, PromText } from './prom-text.js';

/** One finished Kafka request, as the Kafka door reports it. */
export interface KafkaRequestSample {
  /** The API's name, e.g. "Produce", "Fetch". */
  api: string;
  durationMs: number;
}

/** Subscribes to finished Kafka requests; returns the unsubscribe function. */
export type KafkaRequestSource = (listener: (sample: KafkaRequestSample) => void) => () => void;

/** Subscribes to broker-schedule emissions; returns the unsubscribe function. */
export type ScheduleEmitSource = (listener: (sample: ScheduleEmitSample) => void) => () => void;

export interface MetricsDeps {
  log: LogStore;
  groups?: GroupCoordinator;
  /** Open connections per door name. */
  connections: ReadonlyArray<readonly [string, () => number]>;
  kafkaRequests?: KafkaRequestSource;
  /** Per-partition produce/fetch counters of the Kafka door, read at scrape time. */
  kafkaTraffic?: KafkaTrafficSource;
  /** Regular broker-schedule emissions, for the lateness histogram. */
  scheduleEmits?: ScheduleEmitSource;
  /** More metric families, as Prometheus text, rendered on each scrape (job queues, other doors). */
  collectors?: ReadonlyArray<() => Promise<string>>;
}

export interface Metrics {
  contentType: string;
  render(): Promise<string>;
  close(): void;
}

const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The broker's /metrics. Each broker has its own registry, so several brokers in one process (test
 * suites) never share or clash over series. Log and group series are computed at scrape time from
 * the log store; nothing runs between scrapes except the event-loop delay monitor.
 */
export function createMetrics(deps: MetricsDeps): Metrics {
  // The registry and its histograms are made at their first observation or scrape (see promClient).
  let prom: { registry: Registry; latency: Histogram<'api'>; lateness: Histogram<'schedule'> } | undefined;
  const histograms = () => {
    if (prom) return prom;
    const registry = new (promClient().Registry)();
    const latency = labelledHistogram(
      registry,
      'railyard_kafka_request_duration_seconds',
      'Time from a Kafka request being read to its response being ready, by API.',
      'api',
      LATENCY_BUCKETS,
    );
    const lateness = labelledHistogram(
      registry,
      'railyard_schedule_lateness_seconds',
      "Time from a broker schedule's slot to its emission starting, by schedule.",
      'schedule',
      LATENESS_BUCKETS,
    );
    return (prom = { registry, latency, lateness });
  };
  const unsubscribe = deps.kafkaRequests?.((s) => histograms().latency.observe({ api: s.api }, s.durationMs / 1000));
  // A clock stepped back can put an emission before its slot: that is not lateness, so it counts as 0.
  const unsubscribeSchedules = deps.scheduleEmits?.((s) => histograms().lateness.observe({ schedule: s.name }, Math.max(0, s.at - s.slot) / 1000));
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();

  const processText = (): string => {
    const t = new PromText();
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    t.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.').sample('process_resident_memory_bytes', {}, mem.rss);
    t.family('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use, bytes.').sample('nodejs_heap_size_used_bytes', {}, mem.heapUsed);
    t.family('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap allocated, bytes.').sample('nodejs_heap_size_total_bytes', {}, mem.heapTotal);
    t.family('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JS objects, bytes.').sample('nodejs_external_memory_bytes', {}, mem.external);
    t.family('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, seconds.').sample('process_cpu_seconds_total', {}, (cpu.user + cpu.system) / 1e6);
    // Delay percentiles since the previous scrape.
    const ns = (v: number) => (Number.isFinite(v) ? v / 1e9 : 0);
    t.family('nodejs_eventloop_lag_seconds', 'gauge', 'Event loop delay since the previous scrape, by percentile (and max), seconds.');
    t.sample('nodejs_eventloop_lag_seconds', { quantile: '0.5' }, ns(loop.percentile(50)));
    t.sample('nodejs_eventloop_lag_seconds', { quantile: '0.99' }, ns(loop.percentile(99)));
    t.sample('nodejs_eventloop_lag_seconds', { quantile: '1' }, ns(loop.max));
    loop.reset();
    t.family('railyard_connections', 'gauge', 'Open client connections, by door.');
    for (const [name, count] of deps.connections) t.sample('railyard_connections', { door: name }, count());
    return t.toString();
  };

  const logText = (): string => {
    const { log } = deps;
    // The hot loop at thousands of partitions: label text is built once per topic, lines by concatenation.
    const end: string[] = [familyHeader('railyard_kafka_log_end_offset', 'gauge', 'Log end offset (next offset to be written), by topic and partition.')];
    const start: string[] = [familyHeader('railyard_kafka_log_start_offset', 'gauge', 'Log start offset (first readable offset), by topic and partition.')];
    const size: string[] = [familyHeader('railyard_kafka_log_size_bytes', 'gauge', "Bytes in the partition's segments, by topic and partition.")];
    // Traffic counters come from the Kafka door; only topics the log still has are shown, so none go stale.
    const traffic = deps.kafkaTraffic;
    const bytesIn: string[] = [familyHeader('railyard_kafka_bytes_in_total', 'counter', 'Record-batch bytes produced through the Kafka door, by topic and partition.')];
    const recordsIn: string[] = [familyHeader('railyard_kafka_records_in_total', 'counter', 'Records produced through the Kafka door, by topic and partition.')];
    const bytesOut: string[] = [familyHeader('railyard_kafka_bytes_out_total', 'counter', 'Record-batch bytes returned by Kafka fetches, by topic and partition.')];
    const recordsOut: string[] = [familyHeader('railyard_kafka_records_out_total', 'counter', 'Records in the batches returned by Kafka fetches, by topic and partition.')];
    for (const t of log.topics()) {
      const prefix = `{topic="${escapeLabel(t.name)}",partition="`;
      const counters = traffic?.(t.name);
      for (let i = 0; i < t.partitions; i++) {
        const p = log.partition(t.name, i);
        if (!p) continue;
        const labels = prefix + i + '"} ';
        end.push('railyard_kafka_log_end_offset' + labels + p.logEndOffset + '\n');
        start.push('railyard_kafka_log_start_offset' + labels + p.logStartOffset + '\n');
        size.push('railyard_kafka_log_size_bytes' + labels + p.sizeBytes() + '\n');
        // A partition nobody has produced to or fetched from since the start has no traffic series yet
        // (as with any labelled counter): idle partitions cost the scrape nothing here.
        const c = counters?.[i];
        if (!c) continue;
        bytesIn.push('railyard_kafka_bytes_in_total' + labels + c.bytesIn + '\n');
        recordsIn.push('railyard_kafka_records_in_total' + labels + c.recordsIn + '\n');
        bytesOut.push('railyard_kafka_bytes_out_total' + labels + c.bytesOut + '\n');
        recordsOut.push('railyard_kafka_records_out_total' + labels + c.recordsOut + '\n');
      }
    }
    const trafficText = traffic ? bytesIn.join('') + recordsIn.join('') + bytesOut.join('') + recordsOut.join('') : '';
    const lag = new PromText().family('railyard_kafka_consumergroup_lag', 'gauge', 'Log end offset minus the committed offset, by group, topic and partition.');
    if (deps.groups) {
      for (const g of deps.groups.listGroups()) {
        for (const o of deps.groups.committedOffsets(g.groupId)) {
          const p = log.partition(o.topic, o.partition);
          if (!p) continue;
          lag.sample('railyard_kafka_consumergroup_lag', { group: g.groupId, topic: o.topic, partition: o.partition }, Math.max(0, p.logEndOffset - o.offset));
        }
      }
    }
    return end.join('') + start.join('') + size.join('') + trafficText + lag.toString();
  };

  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    render: async () => {
      const extra = await Promise.all((deps.collectors ?? []).map((c) => c()));
      // prom-client separates its families with blank lines; valid, but the rest of the page has none.
      return processText() + logText() + extra.join('') + (await histograms().registry.metrics()).replace(/\n\n+/g, '\n');
    },
    close: () => {
      unsubscribe?.();
      unsubscribeSchedules?.();
      loop.disable();
    },
  };
}

/**
 * AMQP queue depth and lifetime message counters per queue. Read from the door at scrape time, so a
 * deleted queue leaves no stale series.
 */
export function amqpQueueMetrics(queues: () => ReadonlyArray<{ vhost: string; name: string; ready: number; unacked: number; published: number; delivered: number; acked: number }>): string {
  const qs = queues();
  const t = new PromText();
  const families = [
    ['railyard_amqp_queue_messages_ready', 'gauge', 'Ready messages in each AMQP queue.', 'ready'],
    ['railyard_amqp_queue_messages_unacked', 'gauge', 'Delivered, unacknowledged messages of each AMQP queue.', 'unacked'],
    ['railyard_amqp_queue_published_total', 'counter', 'Messages routed to each AMQP queue since it was declared or loaded.', 'published'],
    ['railyard_amqp_queue_delivered_total', 'counter', 'Messages delivered from each AMQP queue (consumers and gets).', 'delivered'],
    ['railyard_amqp_queue_acked_total', 'counter', 'Deliveries of each AMQP queue acknowledged.', 'acked'],
  ] as const;
  for (const [name, type, help, key] of families) {
    t.family(name, type, help);
    for (const q of qs) t.sample(name, { vhost: q.vhost, queue: q.name }, q[key]);
  }
  return t.toString();
}
