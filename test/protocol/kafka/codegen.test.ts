import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Reader, Writer, KafkaDecodeError, UnsupportedApiVersionError, KafkaEncodeError } from '../../../src/protocol/kafka/wire.js';
import {
  API_KEYS,
  API_NAMES,
  VALID_VERSIONS,
  FLEXIBLE_VERSIONS,
  decodeRequestHeader,
  encodeRequestHeader,
  decodeRequest,
  encodeRequest,
  decodeResponse,
  encodeResponse,
  encodeResponseHeader,
  decodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  decodeApiVersionsRequest,
  decodeProduceRequest,
  encodeProduceRequest,
  decodeFetchResponse,
  encodeFetchResponse,
  decodeMetadataResponse,
  encodeMetadataResponse,
  type ApiVersionsResponse,
  type CreateTopicsResponse,
  type FetchRequest,
  type JoinGroupResponse,
  type ProduceRequestInput,
} from '../../../src/protocol/kafka/generated/index.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const specDir = resolve(repoRoot, '../shared/specs/kafka/message');
const generatedDir = resolve(repoRoot, 'src/protocol/kafka/generated');

function encodeBody(fn: (w: Writer) => void): Buffer {
  const w = new Writer();
  fn(w);
  return w.finish();
}

describe('generated codecs are up to date', () => {
  it.skipIf(!existsSync(specDir))('regenerating from the specs reproduces the committed files byte for byte', async () => {
    const { generate } = await import('../../../scripts/gen-kafka-codecs.mjs');
    const tmp = mkdtempSync(join(tmpdir(), 'railyard-gen-'));
    try {
      const out = join(tmp, 'generated');
      generate(specDir, out);
      const fresh = readdirSync(out).sort();
      expect(readdirSync(generatedDir).sort()).toEqual(fresh);
      for (const f of fresh) {
        expect(readFileSync(join(generatedDir, f)).equals(readFileSync(join(out, f))), f).toBe(true);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('tables', () => {
  it('maps names, keys, versions and flexibility from the specs', () => {
    expect(API_KEYS.Produce).toBe(0);
    expect(API_KEYS.ApiVersions).toBe(18);
    expect(API_NAMES[22]).toBe('InitProducerId');
    expect(VALID_VERSIONS[1]).toEqual([0, 16]);
    expect(FLEXIBLE_VERSIONS[0]).toBe(9);
    expect(FLEXIBLE_VERSIONS[18]).toBe(3);
    expect(requestHeaderVersion(0, 7)).toBe(1);
    expect(requestHeaderVersion(0, 9)).toBe(2);
    expect(requestHeaderVersion(7, 0)).toBe(0);
    // a newer client's ApiVersions above our max still sends a flexible header
    expect(requestHeaderVersion(18, 4)).toBe(2);
    expect(responseHeaderVersion(18, 3)).toBe(0);
    expect(responseHeaderVersion(3, 9)).toBe(1);
    expect(responseHeaderVersion(3, 8)).toBe(0);
  });
});

describe('request header', () => {
  it('decodes the ApiVersions v3 request librdkafka sends first', () => {
    const name = Buffer.from('librdkafka');
    const ver = Buffer.from('2.0.2');
    const frame = Buffer.concat([
      Buffer.from([0, 18, 0, 3, 0, 0, 0, 1]), // api key 18, version 3, correlation id 1
      Buffer.from([0, 7]),
      Buffer.from('rdkafka'), // client id: classic int16 string even in header v2
      Buffer.from([0]), // header tagged fields
      Buffer.from([name.length + 1]),
      name,
      Buffer.from([ver.length + 1]),
      ver,
      Buffer.from([0]), // body tagged fields
    ]);
    const r = new Reader(frame);
    const h = decodeRequestHeader(r);
    expect(h).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
    const body = decodeRequest(h.apiKey, h.apiVersion, r);
    expect(body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
    expect(r.remaining).toBe(0);
  });

  it('round-trips headers v1 and v2 with a null client id', () => {
    for (const [apiKey, apiVersion] of [
      [3, 1],
      [22, 4],
    ] as const) {
      const buf = encodeBody((w) => encodeRequestHeader(w, { apiKey, apiVersion, correlationId: -5, clientId: null }));
      const r = new Reader(buf);
      expect(decodeRequestHeader(r)).toEqual({ apiKey, apiVersion, correlationId: -5, clientId: null });
      expect(r.remaining).toBe(0);
    }
  });

  it('writes response header v1 with a tag buffer and v0 without', () => {
    expect(encodeBody((w) => encodeResponseHeader(w, 22, 4, 9))).toEqual(Buffer.from([0, 0, 0, 9, 0]));
    expect(encodeBody((w) => encodeResponseHeader(w, 18, 3, 9))).toEqual(Buffer.from([0, 0, 0, 9]));
    expect(decodeResponseHeader(new Reader(Buffer.from([0, 0, 0, 9, 0])), 22, 4)).toBe(9);
  });
});

describe('round trips', () => {
  const batchA = Buffer.from('first batch bytes');
  const batchB = Buffer.from('second');

  it('Produce request v3, v7 (classic) and v9 (flexible) keep records bytes and defaults', () => {
    const body: ProduceRequestInput = {
      transactionalId: 'tx-1',
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 'orders', partitionData: [{ index: 2, records: batchA }, { index: 0, records: null }] }],
    };
    for (const v of [3, 7, 9, 11]) {
      const buf = encodeBody((w) => encodeProduceRequest(w, v, body));
      const r = new Reader(buf);
      const got = decodeProduceRequest(r, v);
      expect(r.remaining).toBe(0);
      expect(got.transactionalId).toBe('tx-1');
      expect(got.acks).toBe(-1);
      expect(got.topicData[0]!.partitionData[0]!.records!.equals(batchA)).toBe(true);
      expect(got.topicData[0]!.partitionData[1]!.records).toBeNull();
    }
    // v0 has no transactional id: the decoded object still has the field, with its default
    const v0 = decodeProduceRequest(new Reader(encodeBody((w) => encodeProduceRequest(w, 0, body))), 0);
    expect(v0.transactionalId).toBeNull();
  });

  it('Fetch response splices record chunks without copying and decodes them back', () => {
    const w = new Writer();
    w.int32(77);
    encodeFetchResponse(w, 11, {
      responses: [
        {
          topic: 't',
          partitions: [
            { partitionIndex: 0, highWatermark: 2 ** 40 + 3, lastStableOffset: 5, abortedTransactions: [{ producerId: 12, firstOffset: 3 }], records: [batchA, batchB] },
            { partitionIndex: 1, errorCode: 1, highWatermark: -1 },
          ],
        },
      ],
    });
    const frame = w.finishFrame();
    expect(frame.some((c) => c === batchA)).toBe(true);
    expect(frame.some((c) => c === batchB)).toBe(true);
    const whole = Buffer.concat(frame);
    expect(whole.readInt32BE(0)).toBe(whole.length - 4);
    const r = new Reader(whole, 4);
    expect(r.int32()).toBe(77);
    const res = decodeFetchResponse(r, 11);
    expect(r.remaining).toBe(0);
    expect(res.sessionId).toBe(0);
    const [p0, p1] = res.responses[0]!.partitions;
    expect(p0!.highWatermark).toBe(2 ** 40 + 3);
    expect(p0!.logStartOffset).toBe(-1); // omitted: spec default
    expect(p0!.preferredReadReplica).toBe(-1);
    expect(p0!.abortedTransactions).toEqual([{ producerId: 12, firstOffset: 3 }]);
    expect(p0!.records!.equals(Buffer.concat([batchA, batchB]))).toBe(true);
    expect(p1!.errorCode).toBe(1);
    expect(p1!.records).toBeNull();
    expect(p1!.abortedTransactions).toBeNull();
  });

  it('Fetch response v12 carries tagged fields; unknown tags are skipped', () => {
    const buf = encodeBody((w) =>
      encodeFetchResponse(w, 12, {
        responses: [{ topic: 't', partitions: [{ partitionIndex: 3, currentLeader: { leaderId: 0, leaderEpoch: 7 }, records: batchA }] }],
      }),
    );
    const res = decodeFetchResponse(new Reader(buf), 12);
    const p = res.responses[0]!.partitions[0]!;
    expect(p.currentLeader).toEqual({ leaderId: 0, leaderEpoch: 7 });
    expect(p.divergingEpoch).toEqual({ epoch: -1, endOffset: -1 }); // absent tag: default struct
    expect(p.records!.equals(batchA)).toBe(true);

    // an ApiVersions v3 response whose top-level tag section holds one known tag and one from the future
    const w = new Writer();
    w.int16(0);
    w.compactArrayLength(1);
    w.int16(0);
    w.int16(0);
    w.int16(9);
    w.emptyTaggedFields();
    w.int32(0);
    w.unsignedVarint(2);
    w.taggedField(1, (t) => t.int64(42));
    w.taggedField(99, (t) => t.compactString('from a newer broker'));
    const r = new Reader(w.finish());
    const av = decodeResponse(18, 3, r) as ApiVersionsResponse;
    expect(r.remaining).toBe(0);
    expect(av.apiKeys).toEqual([{ apiKey: 0, minVersion: 0, maxVersion: 9 }]);
    expect(av.finalizedFeaturesEpoch).toBe(42);
    expect(av.supportedFeatures).toEqual([]);
  });

  it('ApiVersions v3 response round-trips tagged arrays; v0 has no throttle time', () => {
    const body = {
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
      supportedFeatures: [{ name: 'metadata.version', minVersion: 1, maxVersion: 20 }],
      zkMigrationReady: true,
    };
    const got = decodeResponse(18, 3, new Reader(encodeBody((w) => encodeResponse(18, 3, w, body)))) as ApiVersionsResponse;
    expect(got.supportedFeatures).toEqual(body.supportedFeatures);
    expect(got.zkMigrationReady).toBe(true);
    expect(got.finalizedFeaturesEpoch).toBe(-1);
    const v0 = encodeBody((w) => encodeResponse(18, 0, w, { errorCode: 35, apiKeys: [] }));
    expect(v0).toEqual(Buffer.from([0, 35, 0, 0, 0, 0]));
  });

  it('CreateTopics response v5 writes a tagged int16 only when it differs from the default', () => {
    const topics = [
      { name: 'a', errorCode: 0, numPartitions: 3, replicationFactor: 1, configs: [], topicConfigErrorCode: 40 },
      { name: 'b', errorCode: 36, errorMessage: 'exists', numPartitions: -1, replicationFactor: -1 },
    ];
    const buf = encodeBody((w) => encodeResponse(19, 5, w, { topics }));
    const got = decodeResponse(19, 5, new Reader(buf)) as CreateTopicsResponse;
    expect(got.topics[0]!.topicConfigErrorCode).toBe(40);
    expect(got.topics[0]!.errorMessage).toBeNull();
    expect(got.topics[1]!.topicConfigErrorCode).toBe(0);
    expect(got.topics[1]!.errorMessage).toBe('exists');
    expect(got.topics[1]!.configs).toBeNull();
  });

  it('Metadata response v1, v6 (classic) and v12 (flexible, uuid, nullable name)', () => {
    const body = {
      brokers: [{ nodeId: 0, host: '127.0.0.1', port: 9092 }],
      controllerId: 0,
      topics: [{ name: 'orders', topicId: '0123456789abcdef0123456789abcdef', partitions: [{ partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0] }] }],
    };
    for (const v of [1, 6, 12]) {
      const buf = encodeBody((w) => encodeMetadataResponse(w, v, body));
      const r = new Reader(buf);
      const got = decodeMetadataResponse(r, v);
      expect(r.remaining).toBe(0);
      expect(got.controllerId).toBe(0);
      expect(got.brokers[0]).toEqual({ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null });
      expect(got.topics[0]!.partitions[0]!.replicaNodes).toEqual([0]);
      expect(got.topics[0]!.partitions[0]!.offlineReplicas).toEqual([]);
      expect(got.topics[0]!.topicId).toBe(v >= 10 ? body.topics[0]!.topicId : '00000000000000000000000000000000');
    }
    const nullName = encodeBody((w) => encodeMetadataResponse(w, 12, { topics: [{ name: null }] }));
    expect(decodeMetadataResponse(new Reader(nullName), 12).topics[0]!.name).toBeNull();
    // null where the version has no null (names are nullable from v12): written as the empty string
    const v9 = encodeBody((w) => encodeMetadataResponse(w, 9, { topics: [{ name: null }] }));
    expect(decodeMetadataResponse(new Reader(v9), 9).topics[0]!.name).toBe('');
  });

  it('JoinGroup response: an omitted or null nullable-in-newer-versions field defaults per version', () => {
    for (const v of [5, 7]) {
      for (const protocolName of [undefined, null]) {
        const got = decodeResponse(11, v, new Reader(encodeBody((w) => encodeResponse(11, v, w, { generationId: 1, memberId: 'm', protocolName })))) as JoinGroupResponse;
        expect(got.protocolName).toBe(v >= 7 ? null : '');
        expect(got.memberId).toBe('m');
      }
    }
  });

  it('rejects a uuid that is not 32 hex digits', () => {
    expect(() => encodeBody((w) => encodeMetadataResponse(w, 10, { topics: [{ name: 't', topicId: 'xyz' }] }))).toThrow(KafkaEncodeError);
  });

  it('Fetch request v4 and v11 through the generic dispatch', () => {
    for (const v of [4, 11]) {
      const w = new Writer();
      encodeRequest(1, v, w, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 52428800,
        isolationLevel: 1,
        sessionEpoch: -1,
        topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 123, partitionMaxBytes: 1048576 }] }],
        rackId: 'r1',
      });
      const req = decodeRequest(1, v, new Reader(w.finish())) as FetchRequest;
      expect(req.maxWaitMs).toBe(500);
      expect(req.isolationLevel).toBe(1);
      expect(req.topics[0]!.partitions[0]!.fetchOffset).toBe(123);
      expect(req.topics[0]!.partitions[0]!.currentLeaderEpoch).toBe(-1); // v9+ field: sent default / absent default
      expect(req.sessionEpoch).toBe(-1);
      expect(req.rackId).toBe(v >= 11 ? 'r1' : '');
      expect(req.forgottenTopicsData).toEqual([]);
    }
  });
});

describe('every schema', () => {
  it('encodes defaults for every request and response version, decodes them whole, and re-encodes identically', () => {
    let checked = 0;
    for (const [key, [min, max]] of Object.entries(VALID_VERSIONS)) {
      const apiKey = Number(key);
      for (let v = min; v <= max; v++) {
        for (const [encode, decode] of [
          [encodeRequest, decodeRequest],
          [encodeResponse, decodeResponse],
        ] as const) {
          const first = encodeBody((w) => encode(apiKey, v, w, {}));
          const r = new Reader(first);
          const decoded = decode(apiKey, v, r);
          expect(r.remaining, `${API_NAMES[apiKey]} v${v}`).toBe(0);
          const second = encodeBody((w) => encode(apiKey, v, w, decoded));
          expect(second.equals(first), `${API_NAMES[apiKey]} v${v}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });
});

describe('errors', () => {
  it('throws UnsupportedApiVersionError for unknown keys and versions', () => {
    expect(() => decodeRequest(9999, 0, new Reader(Buffer.alloc(0)))).toThrow(UnsupportedApiVersionError);
    expect(() => decodeRequest(0, 12, new Reader(Buffer.alloc(0)))).toThrow(UnsupportedApiVersionError);
    try {
      decodeRequest(1, 99, new Reader(Buffer.alloc(0)));
    } catch (err) {
      expect(err).toBeInstanceOf(KafkaDecodeError);
      expect((err as UnsupportedApiVersionError).apiKey).toBe(1);
      expect((err as UnsupportedApiVersionError).apiVersion).toBe(99);
    }
  });

  it('throws KafkaDecodeError on truncated input and absurd array lengths', () => {
    const buf = encodeBody((w) => encodeProduceRequest(w, 7, { acks: 1, topicData: [{ name: 'x', partitionData: [{ index: 0, records: Buffer.alloc(10) }] }] }));
    for (let cut = 0; cut < buf.length; cut++) {
      expect(() => decodeProduceRequest(new Reader(buf.subarray(0, cut)), 7)).toThrow(KafkaDecodeError);
    }
    const huge = Buffer.from([0xff, 0xff, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeProduceRequest(new Reader(huge), 7)).toThrow(/array length/);
  });
});

describe('hostile input', () => {
  it('random bytes and mutated requests either decode or throw KafkaDecodeError, for every request version', () => {
    // deterministic xorshift so a failure reproduces
    let seed = 0x2545f491;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const attempt = (apiKey: number, v: number, buf: Buffer) => {
      try {
        decodeRequest(apiKey, v, new Reader(buf));
      } catch (err) {
        if (!(err instanceof KafkaDecodeError)) throw new Error(`${API_NAMES[apiKey]} v${v}: ${String(err)}`);
      }
    };
    for (const [key, [min, max]] of Object.entries(VALID_VERSIONS)) {
      const apiKey = Number(key);
      for (let v = min; v <= max; v++) {
        const base = encodeBody((w) => encodeRequest(apiKey, v, w, {}));
        for (let i = 0; i < 20; i++) {
          const mutated = Buffer.from(base);
          for (let j = 0; j < 3 && mutated.length > 0; j++) mutated[Math.floor(rnd() * mutated.length)] = Math.floor(rnd() * 256);
          attempt(apiKey, v, mutated);
          const noise = Buffer.alloc(Math.floor(rnd() * 64));
          for (let j = 0; j < noise.length; j++) noise[j] = Math.floor(rnd() * 256);
          attempt(apiKey, v, noise);
        }
      }
    }
  });
});

describe('wire primitives', () => {
  it('round-trips integers, varints, varlongs, floats, uuids and strings', () => {
    const w = new Writer(64);
    const int64s = [0, -1, 1, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 32, -(2 ** 32), 1700000000000];
    const varints = [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31)];
    const varlongs = [0, -1, 1, 2 ** 40, -(2 ** 40), 2 ** 52 - 1, -(2 ** 52)];
    for (const n of int64s) w.int64(n);
    for (const n of varints) w.varint(n);
    for (const n of varlongs) w.varlong(n);
    w.unsignedVarint(2 ** 32 - 1);
    w.float64(0.125);
    w.uint16(65535);
    w.uuid('ffeeddccbbaa99887766554433221100');
    w.compactNullableString(null);
    w.string('héllo ✓');
    w.compactString('x'.repeat(300));
    const buf = w.finish();
    const r = new Reader(buf);
    for (const n of int64s) expect(r.int64()).toBe(n);
    for (const n of varints) expect(r.varint()).toBe(n);
    for (const n of varlongs) expect(r.varlong()).toBe(n);
    expect(r.unsignedVarint()).toBe(2 ** 32 - 1);
    expect(r.float64()).toBe(0.125);
    expect(r.uint16()).toBe(65535);
    expect(r.uuid()).toBe('ffeeddccbbaa99887766554433221100');
    expect(r.compactNullableString()).toBeNull();
    expect(r.string()).toBe('héllo ✓');
    expect(r.compactString()).toBe('x'.repeat(300));
    expect(r.remaining).toBe(0);
  });

  it('frames consecutive messages from one writer independently, across slab boundaries', () => {
    const w = new Writer(64);
    const frames: Buffer[][] = [];
    for (let i = 0; i < 20; i++) {
      w.int32(i);
      w.string('y'.repeat(i * 7));
      frames.push(w.finishFrame());
    }
    frames.forEach((chunks, i) => {
      const whole = Buffer.concat(chunks);
      expect(whole.readInt32BE(0)).toBe(whole.length - 4);
      const r = new Reader(whole, 4);
      expect(r.int32()).toBe(i);
      expect(r.string()).toBe('y'.repeat(i * 7));
    });
  });
});
