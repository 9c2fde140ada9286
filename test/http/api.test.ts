import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { startBroker, type Broker } from '../../src/broker.js';
import { apiClient } from './helpers.js';

type Json = Record<string, any>;

let broker: Broker;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent', kafka: { defaultPartitions: 1 } });
  api = apiClient(broker.http.url);
});
afterAll(async () => {
  await broker?.stop();
});

describe('health, readiness, overview', () => {
  it('/health and /ready report ok while every door listens and storage is writable', async () => {
    expect(await api('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await api('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', doors: { kafka: true, amqp: true }, storage: true });
  });

  it('/api/overview shows version, uptime, data dir, disk use, memory and connections per door', async () => {
    await api('POST', '/api/kafka/topics', { name: 'overview-t', partitions: 2 });
    const socket = net.connect(broker.amqp.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    try {
      const { status, body } = await api<Json>('GET', '/api/overview');
      expect(status).toBe(200);
      expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(body.uptimeMs).toBeGreaterThanOrEqual(0);
      expect(body.dataDir).toBe(broker.dataDir);
      expect(body.diskBytes).toBeGreaterThan(0);
      expect(body.memory.rss).toBeGreaterThan(0);
      expect(body.doors.kafka.port).toBe(broker.kafka.port);
      expect(body.doors.amqp.connections).toBeGreaterThanOrEqual(1);
      expect(body.kafka.topics).toBeGreaterThanOrEqual(1);
      expect(body.kafka.partitions).toBeGreaterThanOrEqual(2);
      await api('POST', '/api/kafka/topics/overview-t/records', { partition: 1, records: [{ value: 'a' }, { value: 'b' }] });
      const after = (await api<Json>('GET', '/api/overview')).body;
      expect(after.kafka.records - body.kafka.records).toBe(2);
      expect(after.kafka.sizeBytes).toBeGreaterThan(body.kafka.sizeBytes);
    } finally {
      socket.destroy();
    }
  });
});

describe('topics', () => {
  it('creates, lists, describes, alters configs and deletes a topic', async () => {
    const created = await api<Json>('POST', '/api/kafka/topics', { name: 'orders', partitions: 3, configs: { 'retention.ms': '3600000' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'orders', records: 0, configs: { 'retention.ms': '3600000' } });
    expect(created.body.partitions).toHaveLength(3);

    const list = await api<Json>('GET', '/api/kafka/topics');
    const orders = list.body.topics.find((t: Json) => t.name === 'orders');
    expect(orders.partitions).toEqual([0, 1, 2].map((partition) => ({ partition, logStartOffset: 0, logEndOffset: 0, sizeBytes: 0 })));

    const detail = await api<Json>('GET', '/api/kafka/topics/orders');
    expect(detail.status).toBe(200);
    const retention = detail.body.effectiveConfigs.find((c: Json) => c.name === 'retention.ms');
    expect(retention).toMatchObject({ value: '3600000', isDefault: false });
    expect(detail.body.effectiveConfigs.find((c: Json) => c.name === 'cleanup.policy')).toMatchObject({ value: 'delete', isDefault: true });

    const altered = await api<Json>('PATCH', '/api/kafka/topics/orders/configs', { configs: { 'retention.ms': null, 'segment.bytes': '1048576' } });
    expect(altered.status).toBe(200);
    expect(altered.body.configs).toEqual({ 'segment.bytes': '1048576' });

    const replaced = await api<Json>('PATCH', '/api/kafka/topics/orders/configs', { configs: { 'cleanup.policy': 'compact' }, replace: true });
    expect(replaced.body.configs).toEqual({ 'cleanup.policy': 'compact' });

    expect(await api('DELETE', '/api/kafka/topics/orders')).toMatchObject({ status: 200, body: { deleted: 'orders' } });
    expect((await api('GET', '/api/kafka/topics/orders')).status).toBe(404);
  });

  it('adds partitions to a topic, never removes them', async () => {
    await api('POST', '/api/kafka/topics', { name: 'grow', partitions: 1 });
    const grown = await api<Json>('POST', '/api/kafka/topics/grow/partitions', { count: 3 });
    expect(grown.status).toBe(200);
    expect(grown.body.partitions.map((p: Json) => p.partition)).toEqual([0, 1, 2]);
    expect(await api('POST', '/api/kafka/topics/grow/partitions', { count: 2 })).toMatchObject({ status: 400, body: { field: 'count' } });
    expect(await api('POST', '/api/kafka/topics/grow/partitions', {})).toMatchObject({ status: 400, body: { field: 'count' } });
    expect((await api('POST', '/api/kafka/topics/nope/partitions', { count: 2 })).status).toBe(404);
  });

  it('validateOnly checks a creation without creating', async () => {
    const r = await api<Json>('POST', '/api/kafka/topics', { name: 'dry', partitions: 2, validateOnly: true });
    expect(r).toMatchObject({ status: 200, body: { name: 'dry', partitions: 2, validateOnly: true } });
    expect((await api('GET', '/api/kafka/topics/dry')).status).toBe(404);
  });

  it('answers 400 naming the field, 409 for duplicates and 404 for missing topics', async () => {
    expect(await api('POST', '/api/kafka/topics', {})).toMatchObject({ status: 400, body: { error: 'invalid_request', field: 'name' } });
    expect(await api('POST', '/api/kafka/topics', { name: 'bad name!' })).toMatchObject({ status: 400, body: { field: 'name' } });
    expect(await api('POST', '/api/kafka/topics', { name: 'p0', partitions: 0 })).toMatchObject({ status: 400, body: { field: 'partitions' } });
    expect(await api('POST', '/api/kafka/topics', { name: 'p1', partitions: 'two' })).toMatchObject({ status: 400, body: { field: 'partitions' } });
    expect(await api('POST', '/api/kafka/topics', { name: 'c1', configs: { 'retention.ms': 5 } })).toMatchObject({ status: 400, body: { field: 'configs.retention.ms' } });
    expect(await api('POST', '/api/kafka/topics', { name: 'c2', configs: { 'no.such.config': '1' } })).toMatchObject({ status: 400, body: { field: 'configs' } });
    expect(await api('POST', '/api/kafka/topics', [1, 2])).toMatchObject({ status: 400, body: { field: 'body' } });
    expect(await api('POST', '/api/kafka/topics', undefined, '{"name":')).toMatchObject({ status: 400, body: { field: 'body' } });

    await api('POST', '/api/kafka/topics', { name: 'dup' });
    expect(await api('POST', '/api/kafka/topics', { name: 'dup' })).toMatchObject({ status: 409, body: { error: 'conflict' } });

    expect(await api('DELETE', '/api/kafka/topics/nope')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect((await api('PATCH', '/api/kafka/topics/nope/configs', { configs: {} })).status).toBe(404);
    expect(await api('PATCH', '/api/kafka/topics/dup/configs', {})).toMatchObject({ status: 400, body: { field: 'configs' } });
    expect(await api('PATCH', '/api/kafka/topics/dup/configs', { configs: { 'retention.ms': 'soon' } })).toMatchObject({ status: 400, body: { field: 'configs' } });
  });
});

describe('records', () => {
  it('produces records and reads them back from an offset', async () => {
    await api('POST', '/api/kafka/topics', { name: 'rec', partitions: 1 });
    const produced = await api<Json>('POST', '/api/kafka/topics/rec/records', {
      records: [{ value: 'a' }, { key: 'k', value: 'b', headers: { h: 'v' } }, { value: null }],
    });
    expect(produced).toMatchObject({ status: 200, body: { partitions: [{ partition: 0, baseOffset: 0, lastOffset: 2, count: 3 }] } });

    const all = await api<Json>('GET', '/api/kafka/topics/rec/partitions/0/records');
    expect(all.body.records.map((r: Json) => [r.offset, r.key, r.value])).toEqual([
      [0, null, 'a'],
      [1, 'k', 'b'],
      [2, null, null],
    ]);
    expect(all.body.records[1].headers).toEqual({ h: 'v' });
    expect(all.body).toMatchObject({ nextOffset: 3, logEndOffset: 3 });

    const page = await api<Json>('GET', '/api/kafka/topics/rec/partitions/0/records?offset=1&limit=1');
    expect(page.body.records.map((r: Json) => r.offset)).toEqual([1]);
    expect(page.body.nextOffset).toBe(2);

    const b64 = await api<Json>('GET', '/api/kafka/topics/rec/partitions/0/records?offset=0&limit=1&encoding=base64');
    expect(b64.body.records[0].value).toBe(Buffer.from('a').toString('base64'));
  });

  it('puts keyed records where kafkajs would and reads them with a stock consumer', async () => {
    await api('POST', '/api/kafka/topics', { name: 'keyed', partitions: 4 });
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
    const res = await api<Json>('POST', '/api/kafka/topics/keyed/records', { records: keys.map((k) => ({ key: k, value: `v-${k}` })) });
    expect(res.status).toBe(200);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (const k of keys) {
      const expected = partitioner({ topic: 'keyed', partitionMetadata, message: { key: k, value: null } });
      const p = await api<Json>('GET', `/api/kafka/topics/keyed/partitions/${expected}/records`);
      expect(p.body.records.map((r: Json) => r.key)).toContain(k);
    }
  });

  it('rejects bad produce and read requests with the field named', async () => {
    await api('POST', '/api/kafka/topics', { name: 'rec-bad', partitions: 2 });
    expect(await api('POST', '/api/kafka/topics/rec-bad/records', { records: [] })).toMatchObject({ status: 400, body: { field: 'records' } });
    expect(await api('POST', '/api/kafka/topics/rec-bad/records', { records: [{ value: 5 }] })).toMatchObject({ status: 400, body: { field: 'records[0].value' } });
    expect(await api('POST', '/api/kafka/topics/rec-bad/records', { partition: 2, records: [{ value: 'x' }] })).toMatchObject({ status: 400, body: { field: 'partition' } });
    expect(await api('POST', '/api/kafka/topics/rec-bad/records', { records: [{ value: 'x', partition: 9 }] })).toMatchObject({ status: 400, body: { field: 'records[0].partition' } });
    expect(await api('POST', '/api/kafka/topics/rec-bad/records', { encoding: 'hex', records: [{ value: 'x' }] })).toMatchObject({ status: 400, body: { field: 'encoding' } });
    expect(await api('POST', '/api/kafka/topics/rec-bad/records', { encoding: 'base64', records: [{ value: '!!' }] })).toMatchObject({ status: 400, body: { field: 'records[0].value' } });
    expect((await api('POST', '/api/kafka/topics/nope/records', { records: [{ value: 'x' }] })).status).toBe(404);
    expect((await api('GET', '/api/kafka/topics/rec-bad/partitions/7/records')).status).toBe(404);
    expect(await api('GET', '/api/kafka/topics/rec-bad/partitions/x/records')).toMatchObject({ status: 400, body: { field: 'partition' } });
    expect(await api('GET', '/api/kafka/topics/rec-bad/partitions/0/records?offset=99')).toMatchObject({ status: 400, body: { field: 'offset' } });
    expect(await api('GET', '/api/kafka/topics/rec-bad/partitions/0/records?limit=0')).toMatchObject({ status: 400, body: { field: 'limit' } });
  });
});

describe('consumer groups', () => {
  let consumer: Consumer | undefined;
  afterAll(async () => {
    await consumer?.disconnect();
  });

  it('shows members, assignments, committed offsets and lag; resets offsets only while Empty', async () => {
    await api('POST', '/api/kafka/topics', { name: 'grp-t', partitions: 2 });
    await api('POST', '/api/kafka/topics/grp-t/records', { partition: 0, records: [{ value: '1' }, { value: '2' }, { value: '3' }] });
    await api('POST', '/api/kafka/topics/grp-t/records', { partition: 1, records: [{ value: '4' }] });
    const kafka = new Kafka({ brokers: [broker.kafka.bootstrap], clientId: 'api-test', logLevel: logLevel.NOTHING });
    consumer = kafka.consumer({ groupId: 'g1', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'grp-t', fromBeginning: true });
    let seen = 0;
    const allSeen = new Promise<void>((resolve) => {
      void consumer!.run({
        autoCommit: false,
        eachMessage: async () => {
          if (++seen === 4) resolve();
        },
      });
    });
    await allSeen;
    await consumer.commitOffsets([
      { topic: 'grp-t', partition: 0, offset: '2' },
      { topic: 'grp-t', partition: 1, offset: '1' },
    ]);
    // A commit of offset 2 on partition 0 leaves one record of lag there.
    let detail = await api<Json>('GET', '/api/kafka/groups/g1');
    for (let i = 0; i < 50 && detail.body.offsets?.find((o: Json) => o.partition === 0)?.committedOffset !== 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      detail = await api<Json>('GET', '/api/kafka/groups/g1');
    }
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ groupId: 'g1', state: 'Stable', protocolType: 'consumer' });
    expect(detail.body.members).toHaveLength(1);
    expect(detail.body.members[0].clientId).toBe('api-test');
    expect(detail.body.members[0].assignment).toEqual([{ topic: 'grp-t', partitions: [0, 1] }]);
    const p0 = detail.body.offsets.find((o: Json) => o.partition === 0);
    expect(p0).toMatchObject({ topic: 'grp-t', committedOffset: 2, logEndOffset: 3, lag: 1 });

    const list = await api<Json>('GET', '/api/kafka/groups');
    expect(list.body.groups.find((g: Json) => g.groupId === 'g1')).toMatchObject({ state: 'Stable', members: 1 });

    const busy = await api<Json>('POST', '/api/kafka/groups/g1/reset-offsets', { to: 'earliest' });
    expect(busy).toMatchObject({ status: 409, body: { error: 'conflict' } });

    await consumer.disconnect();
    consumer = undefined;
    expect((await api<Json>('GET', '/api/kafka/groups/g1')).body.state).toBe('Empty');

    const dry = await api<Json>('POST', '/api/kafka/groups/g1/reset-offsets', { to: 'earliest', dryRun: true });
    expect(dry.body).toMatchObject({ dryRun: true, offsets: [{ topic: 'grp-t', partition: 0, offset: 0 }, { topic: 'grp-t', partition: 1, offset: 0 }] });
    expect((await api<Json>('GET', '/api/kafka/groups/g1')).body.offsets.find((o: Json) => o.partition === 0).committedOffset).toBe(2);

    const earliest = await api<Json>('POST', '/api/kafka/groups/g1/reset-offsets', { to: 'earliest' });
    expect(earliest.status).toBe(200);
    let after = await api<Json>('GET', '/api/kafka/groups/g1');
    expect(after.body.lag).toBe(4);

    await api('POST', '/api/kafka/groups/g1/reset-offsets', { to: 'latest' });
    after = await api<Json>('GET', '/api/kafka/groups/g1');
    expect(after.body.offsets.map((o: Json) => o.committedOffset).sort()).toEqual([1, 3]);
    expect(after.body.lag).toBe(0);

    // Everything was written before this instant, so every partition resets to its end; the epoch start resets to 0.
    await api('POST', '/api/kafka/groups/g1/reset-offsets', { to: 'datetime', datetime: '1970-01-01T00:00:00Z' });
    after = await api<Json>('GET', '/api/kafka/groups/g1');
    expect(after.body.lag).toBe(4);
    await api('POST', '/api/kafka/groups/g1/reset-offsets', { to: 'datetime', datetime: Date.now() + 60_000 });
    after = await api<Json>('GET', '/api/kafka/groups/g1');
    expect(after.body.lag).toBe(0);
  });

  it('positions a new group on named topics, and answers 404/400 for unknown groups and bad bodies', async () => {
    await api('POST', '/api/kafka/topics', { name: 'grp-new', partitions: 1 });
    await api('POST', '/api/kafka/topics/grp-new/records', { records: [{ value: 'x' }, { value: 'y' }] });
    expect(await api('POST', '/api/kafka/groups/fresh/reset-offsets', { to: 'latest' })).toMatchObject({ status: 404 });
    const fresh = await api<Json>('POST', '/api/kafka/groups/fresh/reset-offsets', { to: 'latest', topics: ['grp-new'] });
    expect(fresh.body.offsets).toEqual([{ topic: 'grp-new', partition: 0, offset: 2 }]);
    expect((await api<Json>('GET', '/api/kafka/groups/fresh')).body).toMatchObject({ state: 'Empty', lag: 0 });

    expect((await api('GET', '/api/kafka/groups/nope')).status).toBe(404);
    expect(await api('POST', '/api/kafka/groups/fresh/reset-offsets', { to: 'middle' })).toMatchObject({ status: 400, body: { field: 'to' } });
    expect(await api('POST', '/api/kafka/groups/fresh/reset-offsets', { to: 'datetime', datetime: 'yesterday' })).toMatchObject({ status: 400, body: { field: 'datetime' } });
    expect(await api('POST', '/api/kafka/groups/fresh/reset-offsets', { to: 'latest', topics: 'grp-new' })).toMatchObject({ status: 400, body: { field: 'topics' } });
    expect((await api('POST', '/api/kafka/groups/fresh/reset-offsets', { to: 'latest', topics: ['missing'] })).status).toBe(404);
  });
});

describe('errors and hostile input', () => {
  it('answers unknown routes with 404 JSON and wrong methods with 405', async () => {
    expect(await api('GET', '/api/nothing')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    const wrong = await api('PUT', '/api/kafka/topics');
    expect(wrong).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
    expect(wrong.headers.get('allow')).toContain('GET');
    expect(await api('GET', '/api/kafka/topics/%E0%A4%A')).toMatchObject({ status: 400, body: { field: 'name' } });
  });

  it('refuses oversized bodies with 413', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024) });
    const r = await api('POST', '/api/kafka/topics', undefined, big);
    expect(r).toMatchObject({ status: 413, body: { error: 'body_too_large' } });
  });

  it('survives malformed HTTP and keeps serving', async () => {
    const port = broker.http.port;
    for (const garbage of ['\x00\x01\x02garbage\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n', 'POST /api/kafka/topics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
      const reply = await new Promise<string>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(garbage));
        let data = '';
        s.on('data', (d) => (data += d.toString()));
        s.on('close', () => resolve(data));
        s.on('error', () => resolve(data));
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400/);
    }
    expect((await api('GET', '/health')).status).toBe(200);
  });
});
