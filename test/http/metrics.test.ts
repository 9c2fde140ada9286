import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { createMetrics, type KafkaRequestSample } from '../../src/http/metrics.js';
import { escapeLabel } from '../../src/http/prom-text.js';
import { startKafkaBroker, type TestKafkaBroker } from '../helpers/kafka-broker.js';
import { apiClient } from './helpers.js';
import { parsePrometheus, type Sample } from './prom-parse.js';

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('/metrics on a running broker', () => {
  let broker: Broker;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent' });
    api = apiClient(broker.http.url);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('times every Kafka request a real client sends, per API', async () => {
    const { Kafka, logLevel } = (await import('kafkajs')).default;
    const producer = new Kafka({ brokers: [broker.kafka.bootstrap], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: 'timed', messages: [{ value: 'x' }] });
    await producer.send({ topic: 'timed', messages: [{ value: 'y' }] });
    await producer.disconnect();
    const { samples } = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
    expect(find(samples, 'railyard_kafka_request_duration_seconds_count', { api: 'Produce' })?.value).toBe(2);
    expect(find(samples, 'railyard_kafka_request_duration_seconds_count', { api: 'Metadata' })?.value).toBeGreaterThanOrEqual(1);
  });

  it('counts bytes and records produced and fetched per partition from a real kafkajs producer and consumer', async () => {
    const { Kafka, logLevel } = (await import('kafkajs')).default;
    const kafka = new Kafka({ brokers: [broker.kafka.bootstrap], logLevel: logLevel.NOTHING });
    await api('POST', '/api/kafka/topics', { name: 'traffic', partitions: 2 });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'traffic', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 0 }] });
    await producer.send({ topic: 'traffic', messages: [{ value: 'd', partition: 1 }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'traffic-g' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'traffic', fromBeginning: true });
    let seen = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async () => void (++seen === 4 && resolve()) });
    });
    await done;
    await consumer.disconnect();

    const { types, samples } = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
    const v = (name: string, partition: string) => find(samples, name, { topic: 'traffic', partition })?.value;
    expect(types.get('railyard_kafka_records_in_total')).toBe('counter');
    expect(v('railyard_kafka_records_in_total', '0')).toBe(3);
    expect(v('railyard_kafka_records_in_total', '1')).toBe(1);
    const size0 = find(samples, 'railyard_kafka_log_size_bytes', { topic: 'traffic', partition: '0' })!.value;
    // One batch per send, stored verbatim: bytes in equal the partition's log size.
    expect(v('railyard_kafka_bytes_in_total', '0')).toBe(size0);
    expect(v('railyard_kafka_records_out_total', '0')).toBe(3);
    expect(v('railyard_kafka_records_out_total', '1')).toBe(1);
    expect(v('railyard_kafka_bytes_out_total', '0')).toBe(size0);

    // Deleted and re-created through the API: the counters start again.
    await api('DELETE', '/api/kafka/topics/traffic');
    await api('POST', '/api/kafka/topics', { name: 'traffic', partitions: 2 });
    const again = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text()).samples;
    expect(again.some((s) => s.name.startsWith('railyard_kafka_records_') && s.labels.topic === 'traffic')).toBe(false);
  });

  it('observes the lateness of a per-second broker schedule', async () => {
    const put = await api('PUT', '/api/schedules/late-tick', { expression: '* * * * * *', target: { type: 'kafka', topic: 'late-ticks', value: 'x' } });
    expect(put.status).toBe(201);
    const count = async () => {
      const { types, samples } = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
      expect(types.get('railyard_schedule_lateness_seconds')).toBe('histogram');
      return find(samples, 'railyard_schedule_lateness_seconds_count', { schedule: 'late-tick' })?.value ?? 0;
    };
    const deadline = Date.now() + 5000;
    while ((await count()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await count()).toBeGreaterThanOrEqual(2);
    const { samples } = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
    // The shared timer heap fires at the slot: every emission of an idle broker is well under a second late.
    const all = find(samples, 'railyard_schedule_lateness_seconds_count', { schedule: 'late-tick' })!.value;
    expect(find(samples, 'railyard_schedule_lateness_seconds_bucket', { schedule: 'late-tick', le: '1' })?.value).toBe(all);
    await api('DELETE', '/api/schedules/late-tick');
  });

  it('samples job wait time per queue from jobs a BullMQ worker ran, once each', async () => {
    const { Queue, Worker } = await import('bullmq');
    const { createRailyardBackend } = await import('../../src/jobs.js');
    const queue = new Queue('waits', { connection: { dataDir: broker.dataDir } }, createRailyardBackend);
    await queue.add('early', { n: 1 });
    await queue.add('early', { n: 2 });
    // Due in 400 ms; its wait counts from then, not from when it was added.
    await queue.add('delayed', { n: 3 }, { delay: 400 });
    await new Promise((r) => setTimeout(r, 250));
    let finished = 0;
    const done = new Promise<void>((resolve) => {
      const worker = new Worker('waits', async () => 'ok', { connection: { dataDir: broker.dataDir } } as never, createRailyardBackend);
      worker.on('completed', () => {
        if (++finished === 3) resolve(worker.close());
      });
    });
    await done;
    await queue.close();

    const scrape = async () => parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
    const { types, samples } = await scrape();
    expect(types.get('railyard_job_wait_seconds')).toBe('histogram');
    expect(find(samples, 'railyard_job_wait_seconds_count', { queue: 'waits' })?.value).toBe(3);
    // The two early jobs waited at least the 250 ms before the worker started; the delayed one hardly at all.
    expect(find(samples, 'railyard_job_wait_seconds_sum', { queue: 'waits' })?.value).toBeGreaterThanOrEqual(0.45);
    expect(find(samples, 'railyard_job_wait_seconds_bucket', { queue: 'waits', le: '0.1' })?.value).toBe(1);
    // A second scrape observes nothing twice.
    expect(find((await scrape()).samples, 'railyard_job_wait_seconds_count', { queue: 'waits' })?.value).toBe(3);
  });

  it('serves valid Prometheus text with per-partition offsets and sizes, group lag, process metrics', async () => {
    await api('POST', '/api/kafka/topics', { name: 'm.topic', partitions: 3 });
    await api('POST', '/api/kafka/topics/m.topic/records', { partition: 1, records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await api('POST', '/api/kafka/groups/mg/reset-offsets', { to: 'earliest', topics: ['m.topic'] });

    const res = await fetch(broker.http.url + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parsePrometheus(await res.text());

    expect(types.get('railyard_kafka_log_end_offset')).toBe('gauge');
    expect(find(samples, 'railyard_kafka_log_end_offset', { topic: 'm.topic', partition: '1' })?.value).toBe(3);
    expect(find(samples, 'railyard_kafka_log_end_offset', { topic: 'm.topic', partition: '0' })?.value).toBe(0);
    expect(find(samples, 'railyard_kafka_log_start_offset', { topic: 'm.topic', partition: '1' })?.value).toBe(0);
    expect(find(samples, 'railyard_kafka_log_size_bytes', { topic: 'm.topic', partition: '1' })?.value).toBeGreaterThan(0);
    expect(find(samples, 'railyard_kafka_consumergroup_lag', { group: 'mg', topic: 'm.topic', partition: '1' })?.value).toBe(3);
    expect(find(samples, 'process_resident_memory_bytes', {})?.value).toBeGreaterThan(0);
    expect(find(samples, 'nodejs_eventloop_lag_seconds', { quantile: '0.99' })?.value).toBeGreaterThanOrEqual(0);
    expect(find(samples, 'railyard_connections', { door: 'http' })?.value).toBeGreaterThanOrEqual(1);
    expect(types.get('railyard_kafka_request_duration_seconds')).toBe('histogram');

    // A deleted topic leaves no stale series behind.
    await api('DELETE', '/api/kafka/topics/m.topic');
    const after = parsePrometheus(await (await fetch(broker.http.url + '/metrics')).text());
    expect(after.samples.some((s) => s.labels.topic === 'm.topic')).toBe(false);
  });
});

describe('createMetrics', () => {
  let kb: TestKafkaBroker;
  beforeAll(async () => {
    kb = await startKafkaBroker({ logLevel: 'silent' });
  });
  afterAll(async () => {
    await kb?.stop();
  });

  it('fills the request latency histogram from the Kafka request source and unsubscribes on close', async () => {
    const listeners = new Set<(s: KafkaRequestSample) => void>();
    const metrics = createMetrics({
      log: kb.ctx.log,
      connections: [['kafka', () => kb.door.connectionCount()]],
      kafkaRequests: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    });
    for (const l of listeners) {
      l({ api: 'Produce', durationMs: 3 });
      l({ api: 'Produce', durationMs: 700 });
      l({ api: 'Fetch', durationMs: 0.2 });
    }
    const { samples } = parsePrometheus(await metrics.render());
    expect(find(samples, 'railyard_kafka_request_duration_seconds_count', { api: 'Produce' })?.value).toBe(2);
    expect(find(samples, 'railyard_kafka_request_duration_seconds_bucket', { api: 'Produce', le: '0.005' })?.value).toBe(1);
    expect(find(samples, 'railyard_kafka_request_duration_seconds_bucket', { api: 'Produce', le: '1' })?.value).toBe(2);
    expect(find(samples, 'railyard_kafka_request_duration_seconds_count', { api: 'Fetch' })?.value).toBe(1);
    metrics.close();
    expect(listeners.size).toBe(0);
  });

  it('keeps two brokers in one process apart (a registry each)', async () => {
    const feeds: Array<(s: KafkaRequestSample) => void> = [];
    const source = (l: (s: KafkaRequestSample) => void) => {
      feeds.push(l);
      return () => {};
    };
    const a = createMetrics({ log: kb.ctx.log, connections: [], kafkaRequests: source });
    const b = createMetrics({ log: kb.ctx.log, connections: [], kafkaRequests: source });
    try {
      feeds[0]!({ api: 'Metadata', durationMs: 1 });
      const sa = parsePrometheus(await a.render()).samples;
      const sb = parsePrometheus(await b.render()).samples;
      expect(find(sa, 'railyard_kafka_request_duration_seconds_count', { api: 'Metadata' })?.value).toBe(1);
      expect(find(sb, 'railyard_kafka_request_duration_seconds_count', { api: 'Metadata' })).toBeUndefined();
    } finally {
      a.close();
      b.close();
    }
  });

  it('renders one series per partition for many partitions, escaping label values', async () => {
    kb.ctx.log.createTopic('many', { partitions: 500 });
    const metrics = createMetrics({ log: kb.ctx.log, connections: [] });
    try {
      const { samples } = parsePrometheus(await metrics.render());
      expect(samples.filter((s) => s.name === 'railyard_kafka_log_end_offset' && s.labels.topic === 'many')).toHaveLength(500);
    } finally {
      metrics.close();
    }
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(parsePrometheus(`# HELP x h\n# TYPE x gauge\nx{l="${escapeLabel('a"b\\c\nd')}"} 1\n`).samples[0]!.labels.l).toBe('a"b\\c\nd');
  });
});
