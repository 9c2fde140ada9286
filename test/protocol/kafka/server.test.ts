import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { createApiVersionsHandler } from '../../../src/protocol/kafka/api-versions.js';
import type { ConnectionLimits } from '../../../src/protocol/kafka/connection.js';
import { createDispatcher, createHandlerTable } from '../../../src/protocol/kafka/dispatch.js';
import { FrameBufferPool, FrameReader, FrameSizeError } from '../../../src/protocol/kafka/frame-reader.js';
import type { KafkaApiHandler } from '../../../src/protocol/kafka/handler.js';
import { startKafkaServer } from '../../../src/protocol/kafka/server.js';
import { startKafkaBroker, type TestKafkaBroker } from '../../helpers/kafka-broker.js';
import { decodedResponse, encodedRequest } from '../../helpers/kafka-codec-client.js';
import { RawKafkaClient, apiVersionsV3Body, parseApiVersionsResponse, requestFrame } from '../../helpers/kafka-raw.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function drain(r: FrameReader): Buffer[] {
  const out: Buffer[] = [];
  for (let f = r.next(); f !== null; f = r.next()) out.push(Buffer.from(f));
  return out;
}

describe('FrameReader', () => {
  const bodies = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(3000, 7), Buffer.from('x')];
  const stream = Buffer.concat(bodies.map(frame));

  it('splits frames packed into one chunk', () => {
    const r = new FrameReader(1 << 20);
    r.push(stream);
    expect(drain(r)).toEqual(bodies);
    expect(r.bufferedBytes).toBe(0);
  });

  it('reassembles frames arriving one byte at a time', () => {
    const r = new FrameReader(1 << 20);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      r.push(stream.subarray(i, i + 1));
      got.push(...drain(r));
    }
    expect(got).toEqual(bodies);
  });

  it('handles arbitrary chunk boundaries', () => {
    for (const step of [2, 3, 5, 7, 1000, 3001]) {
      const r = new FrameReader(1 << 20);
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) {
        r.push(stream.subarray(i, i + step));
        got.push(...drain(r));
      }
      expect(got).toEqual(bodies);
    }
  });

  it('keeps nothing of a chunk: frames stay intact when the chunk is overwritten after push', () => {
    const r = new FrameReader(1 << 20);
    const chunk = Buffer.from(stream);
    r.push(chunk.subarray(0, 20));
    chunk.fill(0xee, 0, 20);
    r.push(chunk.subarray(20));
    chunk.fill(0xee);
    expect(drain(r)).toEqual(bodies);
  });

  it('offers the rest of a large frame as the next read target, and takes bytes read into it in place', () => {
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
    const all = Buffer.concat([frame(Buffer.from('before')), frame(big), frame(Buffer.from('after'))]);
    const r = new FrameReader(1 << 20);
    expect(r.readTarget()).toBeNull();
    // Size prefixes and small frames go through the scratch path.
    let at = 10 + 4 + 1000;
    r.push(all.subarray(0, at));
    let target = r.readTarget();
    expect(target).not.toBeNull();
    const end = 10 + 4 + big.length;
    while (target !== null) {
      // A socket read of up to 30000 bytes straight into the target.
      const n = Math.min(30_000, target.length);
      all.copy(target, 0, at, at + n);
      r.received(target.subarray(0, n), true);
      at += n;
      target = r.readTarget();
    }
    // The frame's tail is short enough to go through the scratch buffer again.
    expect(end - at).toBeLessThan(16 * 1024);
    r.push(all.subarray(at));
    expect(drain(r)).toEqual([Buffer.from('before'), big, Buffer.from('after')]);
    expect(r.bufferedBytes).toBe(0);
  });

  it('refuses frames above the limit and negative sizes', () => {
    const big = new FrameReader(1024);
    big.push(Buffer.from([0, 0, 4, 1]));
    expect(() => big.next()).toThrow(FrameSizeError);
    // Frames before a bad prefix are still handed out, then the error, and nothing after it is read.
    const after = new FrameReader(1024);
    after.push(Buffer.concat([frame(Buffer.from('ok')), Buffer.from([0, 0, 4, 1]), frame(Buffer.from('never'))]));
    expect(after.next()).toEqual(Buffer.from('ok'));
    expect(after.readTarget()).toBeNull();
    expect(() => after.next()).toThrow(FrameSizeError);
    const neg = new FrameReader(1024);
    neg.push(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    expect(() => neg.next()).toThrow(/negative/);
  });
});

describe('FrameReader with a buffer pool', () => {
  /** A frame body starting with the given API key (Produce is 0), filled with a recognisable pattern. */
  const body = (apiKey: number, size: number, seed: number) => {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
    b.writeInt16BE(apiKey, 0);
    return b;
  };

  it('assembles large Produce frames in pooled buffers, reused once released, and others in fresh ones', () => {
    const pool = new FrameBufferPool(256 * 1024, 4, 1024);
    const frames = [body(0, 100_000, 1), body(0, 90_000, 2), body(3, 100_000, 3), body(0, 100, 4), body(0, 50_000, 5)];
    for (const step of [5, 4096, 65536]) {
      const r = new FrameReader(1 << 20, pool);
      const stream = Buffer.concat(frames.map(frame));
      const got: { data: Buffer; loaned: boolean; ab: ArrayBufferLike }[] = [];
      for (let i = 0; i < stream.length; i += step) {
        // Fresh chunk objects, as a socket delivers them, so no frame can be a view of `stream`.
        r.push(Buffer.from(stream.subarray(i, i + step)));
        for (let f = r.next(); f !== null; f = r.next()) {
          got.push({ data: Buffer.from(f), loaned: r.lastLoaned, ab: f.buffer });
          if (r.lastLoaned) r.release(f);
        }
      }
      expect(got.map((g) => g.data)).toEqual(frames);
      expect(got.map((g) => g.loaned)).toEqual([true, true, false, false, true]);
      // Released right away, the Produce frames share the two buffers that one frame completing while the next begins needs.
      expect(new Set([got[0]!.ab, got[1]!.ab, got[4]!.ab]).size).toBeLessThanOrEqual(2);
      expect(got[2]!.ab).not.toBe(got[0]!.ab);
    }
  });

  it('never hands out a buffer that is still on loan', () => {
    const pool = new FrameBufferPool(256 * 1024, 4, 1024);
    const r = new FrameReader(1 << 20, pool);
    const a = body(0, 80_000, 1);
    const b = body(0, 80_000, 2);
    const stream = Buffer.concat([frame(a), frame(b)]);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 1000) {
      r.push(Buffer.from(stream.subarray(i, i + 1000)));
      for (let f = r.next(); f !== null; f = r.next()) out.push(f);
    }
    expect(out[0]!.buffer).not.toBe(out[1]!.buffer);
    expect(out).toEqual([a, b]);
    r.release(out[0]!);
    r.release(out[1]!);
    expect(pool.freeCount).toBe(2);
  });
});

describe('Kafka server', () => {
  let broker: TestKafkaBroker;
  beforeAll(async () => {
    broker = await startKafkaBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('answers ApiVersions v0 with ranges stock clients accept (CLIENT-MATRIX §2-3)', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    await c.write(requestFrame(18, 0, 42));
    const frame = await c.nextFrame();
    const res = parseApiVersionsResponse(frame, 0);
    expect(res).toMatchObject({ correlationId: 42, errorCode: 0, trailing: 0 });
    expect(frame.length).toBe(4 + 2 + 4 + 6 * res.ranges.size);
    const r = res.ranges;
    // This door's own APIs, exactly.
    expect(r.get(18)).toEqual([0, 3]);
    expect(r.get(19)).toEqual([2, 4]);
    expect(r.get(20)).toEqual([1, 3]);
    expect(r.get(21)).toEqual([0, 1]);
    expect(r.get(32)).toEqual([1, 2]);
    expect(r.get(33)).toEqual([0, 1]);
    expect(r.get(37)).toEqual([0, 1]);
    const overlaps = (key: number, v: number) => {
      const range = r.get(key);
      return range !== undefined && range[0] <= v && v <= range[1];
    };
    // librdkafka's feature map: compression needs Produce v0, MSGVER2 Produce 3 + Fetch 4, zstd Produce 7 + Fetch 10.
    expect([0, 3, 7].every((v) => overlaps(0, v))).toBe(true);
    expect([4, 10, 11].every((v) => overlaps(1, v))).toBe(true);
    // librdkafka's balanced consumer: the group APIs must reach down to v0 (OffsetCommit <=2, OffsetFetch <=1).
    for (const key of [10, 11, 12, 13, 14]) expect(overlaps(key, 0)).toBe(true);
    expect(overlaps(8, 2)).toBe(true);
    expect(overlaps(9, 1)).toBe(true);
    // kafka-python probes Metadata v0 and infers the broker version from Fetch's max.
    expect(overlaps(3, 0)).toBe(true);
    expect(r.get(1)![1]).toBeGreaterThanOrEqual(10);
    // kafkajs' idempotent producer.
    expect(overlaps(22, 1)).toBe(true);
    // Sorted by key, as Kafka lists them.
    const keys = [...r.keys()];
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    c.close();
  });

  it('answers ApiVersions v1 and v2 with the throttle time', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    await c.write(Buffer.concat([requestFrame(18, 1, 1), requestFrame(18, 2, 2)]));
    const v1 = parseApiVersionsResponse(await c.nextFrame(), 1);
    const v2 = parseApiVersionsResponse(await c.nextFrame(), 2);
    expect(v1).toMatchObject({ correlationId: 1, errorCode: 0, throttleTimeMs: 0, trailing: 0 });
    expect(v2).toMatchObject({ correlationId: 2, errorCode: 0, throttleTimeMs: 0, trailing: 0 });
    expect(v2.ranges.get(18)).toEqual([0, 3]);
    c.close();
  });

  it('answers ApiVersions v3 as librdkafka sends it (header v2, client software, response header v0)', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    await c.write(requestFrame(18, 3, 7, apiVersionsV3Body('librdkafka', '2.0.2'), { headerVersion: 2, clientId: 'rdkafka' }));
    const res = parseApiVersionsResponse(await c.nextFrame(), 3);
    expect(res).toMatchObject({ correlationId: 7, errorCode: 0, throttleTimeMs: 0, trailing: 0 });
    expect(res.ranges.get(0)).toEqual([0, 7]);
    expect(res.ranges.get(18)).toEqual([0, 3]);
    c.close();
  });

  it('refuses a v3 client software name Kafka would refuse (INVALID_REQUEST)', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    await c.write(requestFrame(18, 3, 8, apiVersionsV3Body('bad name!', '1.0'), { headerVersion: 2 }));
    const res = parseApiVersionsResponse(await c.nextFrame(), 3);
    expect(res).toMatchObject({ correlationId: 8, errorCode: 42, trailing: 0 });
    // The connection stays usable.
    await c.write(requestFrame(18, 0, 9));
    expect(parseApiVersionsResponse(await c.nextFrame(), 0).errorCode).toBe(0);
    c.close();
  });

  it('answers a too-new ApiVersions with UNSUPPORTED_VERSION in the v0 layout, then serves the fallback', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    await c.write(requestFrame(18, 9, 11, Buffer.from([0x05, 0x01, 0x02, 0x03, 0x00]), { headerVersion: 2 }));
    const res = parseApiVersionsResponse(await c.nextFrame(), 0);
    expect(res).toMatchObject({ correlationId: 11, errorCode: 35, trailing: 0 });
    expect(res.ranges.get(18)).toEqual([0, 3]);
    await c.write(requestFrame(18, 3, 12, apiVersionsV3Body('newclient', '9.9'), { headerVersion: 2 }));
    expect(parseApiVersionsResponse(await c.nextFrame(), 3)).toMatchObject({ correlationId: 12, errorCode: 0 });
    c.close();
  });

  it('reassembles a request that arrives one byte at a time', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    const frame = requestFrame(18, 3, 99, apiVersionsV3Body('bytewise', '1.0'), { headerVersion: 2 });
    for (let i = 0; i < frame.length; i++) {
      await c.write(frame.subarray(i, i + 1));
      // Let each byte arrive as its own TCP chunk.
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(parseApiVersionsResponse(await c.nextFrame(), 3)).toMatchObject({ correlationId: 99, errorCode: 0 });
    c.close();
  });

  it('answers many requests packed into one chunk, in request order', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) frames.push(i % 2 ? requestFrame(18, 0, i) : requestFrame(3, 1, i, Buffer.from([0, 0, 0, 0])));
    await c.write(Buffer.concat(frames));
    for (let i = 0; i < 200; i++) expect((await c.nextFrame()).readInt32BE(0)).toBe(i);
    c.close();
  });

  it('keeps request order when a long-polling Fetch is followed by a Metadata', async () => {
    broker.ctx.log.createTopic('long-poll', { partitions: 1 });
    const c = await RawKafkaClient.connect(broker.port);
    const fetch = encodedRequest(1, 4, 1, {
      replicaId: -1,
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'long-poll', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    const metadata = encodedRequest(3, 1, 2, { topics: [{ name: 'long-poll' }] });
    await c.write(Buffer.concat([fetch, metadata]));
    const first = decodedResponse<{ responses: Array<{ topic: string }> }>(await c.nextFrame(), 1, 4);
    const second = decodedResponse<{ topics: Array<{ name: string }> }>(await c.nextFrame(), 3, 1);
    expect(first.correlationId).toBe(1);
    expect(first.body.responses[0]!.topic).toBe('long-poll');
    expect(second.correlationId).toBe(2);
    expect(second.body.topics[0]!.name).toBe('long-poll');
    c.close();
  });

  it('counts open connections', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    await c.write(requestFrame(18, 0, 1));
    await c.nextFrame();
    const before = broker.door.connectionCount();
    expect(before).toBeGreaterThanOrEqual(1);
    c.close();
    await vi.waitFor(() => expect(broker.door.connectionCount()).toBe(before - 1));
  });
});

/** A server with a hand-made handler table, to control when each answer is ready. */
async function gatedServer(limits: Partial<ConnectionLimits> = {}) {
  const gates: Array<{ correlationId: number; open: () => void }> = [];
  const inner = createApiVersionsHandler(() => table.ranges(), createLogger('silent'));
  const gated: KafkaApiHandler = {
    apiKey: 18,
    minVersion: 0,
    maxVersion: 3,
    async handle(req, rc) {
      await new Promise<void>((open) => gates.push({ correlationId: rc.correlationId, open }));
      return inner.handle(req as never, rc);
    },
  };
  const failing: KafkaApiHandler = {
    apiKey: 12,
    minVersion: 0,
    maxVersion: 3,
    handle() {
      throw new Error('handler bug');
    },
  };
  const table = createHandlerTable([gated, failing]);
  const server = await startKafkaServer({
    host: '127.0.0.1',
    port: 0,
    createProcessor: (conn) => createDispatcher(table, conn),
    limits: { maxFrameBytes: 1 << 20, maxInFlight: 64, maxQueuedBytes: 1 << 20, ...limits },
    logger: createLogger('silent'),
  });
  return { server, gates };
}

describe('Kafka server pipelining', () => {
  it('writes answers in request order when handlers finish in reverse order', async () => {
    const { server, gates } = await gatedServer();
    try {
      const c = await RawKafkaClient.connect(server.port);
      await c.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => requestFrame(18, 0, id))));
      await vi.waitFor(() => expect(gates.length).toBe(5));
      for (const g of [...gates].reverse()) {
        g.open();
        await new Promise((r) => setImmediate(r));
      }
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await c.nextFrame()).readInt32BE(0));
      expect(ids).toEqual([1, 2, 3, 4, 5]);
      c.close();
    } finally {
      await server.close();
    }
  });

  it('writes the answers of requests settled in the same turn with one socket write', async () => {
    const { server, gates } = await gatedServer();
    try {
      const c = await RawKafkaClient.connect(server.port);
      await c.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => requestFrame(18, 0, id))));
      await vi.waitFor(() => expect(gates.length).toBe(5));
      // A stream write goes down as _write (one chunk) or _writev (corked chunks): one call, one syscall.
      const single = vi.spyOn(net.Socket.prototype as unknown as { _write: () => void }, '_write');
      const vector = vi.spyOn(net.Socket.prototype as unknown as { _writev: () => void }, '_writev');
      try {
        // As a group commit does: every append of the turn settles in one loop.
        for (const g of gates) g.open();
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) ids.push((await c.nextFrame()).readInt32BE(0));
        expect(ids).toEqual([1, 2, 3, 4, 5]);
        expect(single.mock.calls.length + vector.mock.calls.length).toBe(1);
      } finally {
        single.mockRestore();
        vector.mockRestore();
      }
      c.close();
    } finally {
      await server.close();
    }
  });

  it('stops reading while too many requests are in flight and resumes when they are answered', async () => {
    const { server, gates } = await gatedServer({ maxInFlight: 4 });
    try {
      const c = await RawKafkaClient.connect(server.port);
      await c.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => requestFrame(18, 0, i))));
      await vi.waitFor(() => expect(gates.length).toBe(4));
      // Give the server every chance to (wrongly) start a fifth request.
      await new Promise((r) => setTimeout(r, 50));
      expect(gates.length).toBe(4);
      let opened = 0;
      const ids: number[] = [];
      while (ids.length < 20) {
        while (opened < gates.length) gates[opened++]!.open();
        ids.push((await c.nextFrame()).readInt32BE(0));
      }
      expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i));
      c.close();
    } finally {
      await server.close();
    }
  });

  it('recycles a response\'s read buffers only after the socket has written it', async () => {
    // A Fetch stand-in whose records live in the request's leased read buffers, filled per request.
    const fetch: KafkaApiHandler = {
      apiKey: 1,
      minVersion: 4,
      maxVersion: 4,
      handle: (_req, rc) => {
        const records = rc.readBuffers!.alloc(1 << 20).fill((rc.correlationId % 250) + 1);
        const partitions = [{ partitionIndex: 0, errorCode: 0, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, abortedTransactions: [], records: [records] }];
        return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions }] };
      },
    };
    const server = await startKafkaServer({
      host: '127.0.0.1',
      port: 0,
      createProcessor: (conn) => createDispatcher(createHandlerTable([fetch]), conn),
      limits: { maxFrameBytes: 1 << 20, maxInFlight: 1000, maxQueuedBytes: 8 << 20 },
      logger: createLogger('silent'),
    });
    try {
      const c = await RawKafkaClient.connect(server.port);
      // Unread responses pile up in the socket while later requests take (and would overwrite) blocks.
      c.socket.pause();
      const n = 30;
      const body = Buffer.alloc(64);
      await c.write(Buffer.concat(Array.from({ length: n }, (_, i) => requestFrame(1, 4, i, body))));
      await new Promise((r) => setTimeout(r, 300));
      c.socket.resume();
      for (let i = 0; i < n; i++) {
        const frame = await c.nextFrame();
        expect(frame.readInt32BE(0)).toBe(i);
        const tail = frame.subarray(frame.length - (1 << 20));
        expect(tail.every((b) => b === (i % 250) + 1)).toBe(true);
      }
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('stops reading while responses pile up unread and resumes when the client catches up', async () => {
    const big = Buffer.alloc(1 << 20, 0x61);
    let calls = 0;
    const saslAuthenticate: KafkaApiHandler = {
      apiKey: 36,
      minVersion: 0,
      maxVersion: 1,
      handle: () => {
        calls++;
        return { errorCode: 0, errorMessage: null, authBytes: big };
      },
    };
    const table = createHandlerTable([saslAuthenticate]);
    const server = await startKafkaServer({
      host: '127.0.0.1',
      port: 0,
      createProcessor: (conn) => createDispatcher(table, conn),
      limits: { maxFrameBytes: 1 << 20, maxInFlight: 1000, maxQueuedBytes: 1 << 20 },
      logger: createLogger('silent'),
    });
    try {
      const c = await RawKafkaClient.connect(server.port);
      c.socket.pause();
      const n = 40;
      await c.write(Buffer.concat(Array.from({ length: n }, (_, i) => requestFrame(36, 0, i, Buffer.alloc(4)))));
      await vi.waitFor(() => expect(calls).toBeGreaterThan(0));
      // Once the kernel buffers are full, the server must stop taking requests off this socket.
      let stalled = -1;
      await vi.waitFor(async () => {
        const before = calls;
        await new Promise((r) => setTimeout(r, 100));
        expect(calls).toBe(before);
        stalled = calls;
      });
      expect(stalled).toBeLessThan(n);
      c.socket.resume();
      for (let i = 0; i < n; i++) {
        const frame = await c.nextFrame();
        expect(frame.readInt32BE(0)).toBe(i);
        expect(frame.length).toBeGreaterThan(1 << 20);
      }
      expect(calls).toBe(n);
      c.close();
    } finally {
      await server.close();
    }
  });

  it('assembles large requests split over many writes, between small ones, byte for byte', async () => {
    // SaslAuthenticate echoes a digest of its authBytes: a request body the server must have whole.
    const sasl: KafkaApiHandler = {
      apiKey: 36,
      minVersion: 0,
      maxVersion: 1,
      handle: (req) => {
        const bytes = (req as { authBytes: Buffer }).authBytes;
        let sum = 0;
        for (let i = 0; i < bytes.length; i++) sum = (sum * 31 + bytes[i]!) >>> 0;
        const out = Buffer.alloc(8);
        out.writeUInt32BE(bytes.length, 0);
        out.writeUInt32BE(sum, 4);
        return { errorCode: 0, errorMessage: null, authBytes: out };
      },
    };
    const server = await startKafkaServer({
      host: '127.0.0.1',
      port: 0,
      createProcessor: (conn) => createDispatcher(createHandlerTable([sasl]), conn),
      limits: { maxFrameBytes: 1 << 20, maxInFlight: 64, maxQueuedBytes: 1 << 20 },
      logger: createLogger('silent'),
    });
    try {
      const c = await RawKafkaClient.connect(server.port);
      const payload = (n: number, seed: number) => {
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
        return b;
      };
      const sizes = [10, 700_000, 3, 200_000, 17_000, 1];
      const expected = sizes.map((n, i) => {
        const p = payload(n, i);
        let sum = 0;
        for (let j = 0; j < p.length; j++) sum = (sum * 31 + p[j]!) >>> 0;
        return { p, sum };
      });
      const withLength = (p: Buffer) => Buffer.concat([Buffer.from([p.length >>> 24, (p.length >>> 16) & 0xff, (p.length >>> 8) & 0xff, p.length & 0xff]), p]);
      const stream = Buffer.concat(expected.map((e, i) => requestFrame(36, 0, i, withLength(e.p))));
      // Odd-sized writes with pauses, so reads end mid-prefix, mid-header and mid-body.
      const steps = [1, 5, 2, 40_000, 3, 90_001, 7, 65_536, 13, 250_000];
      for (let at = 0, k = 0; at < stream.length; k++) {
        const n = steps[k % steps.length]!;
        await c.write(stream.subarray(at, at + n));
        at += n;
        if (k % 3 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      for (let i = 0; i < sizes.length; i++) {
        const frame = await c.nextFrame();
        expect(frame.readInt32BE(0)).toBe(i);
        // Response: correlation id, error code, error message (null), then authBytes (length + 8 bytes).
        const auth = frame.subarray(frame.length - 8);
        expect(auth.readUInt32BE(0)).toBe(sizes[i]);
        expect(auth.readUInt32BE(4)).toBe(expected[i]!.sum);
      }
      c.close();
    } finally {
      await server.close();
    }
  });

  it('close() stops accepting and closes open connections, even with requests still in flight', async () => {
    const { server, gates } = await gatedServer();
    const c = await RawKafkaClient.connect(server.port);
    await c.write(requestFrame(18, 0, 1));
    await vi.waitFor(() => expect(gates.length).toBe(1));
    expect(server.connectionCount()).toBe(1);
    await server.close();
    expect(await c.closedWithin()).toBe(true);
    await expect(RawKafkaClient.connect(server.port)).rejects.toThrow();
    // The handler finishing late writes nowhere and breaks nothing.
    gates[0]!.open();
  });

  it('closes the connection whose handler throws, and only that one', async () => {
    const { server, gates } = await gatedServer();
    try {
      const bad = await RawKafkaClient.connect(server.port);
      const good = await RawKafkaClient.connect(server.port);
      await bad.write(requestFrame(12, 0, 1, Buffer.from([0, 1, 0x61, 0, 0, 0, 1, 0, 1, 0x62])));
      expect(await bad.closedWithin()).toBe(true);
      await good.write(requestFrame(18, 0, 5));
      await vi.waitFor(() => expect(gates.length).toBe(1));
      gates[0]!.open();
      expect((await good.nextFrame()).readInt32BE(0)).toBe(5);
      good.close();
    } finally {
      await server.close();
    }
  });
});
