import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CompressionCodec,
  decodeRecordBatches,
  decodeXerial,
  encodeControlBatch,
  encodeRecordBatch,
  encodeXerial,
  gzip,
  initCodecs,
  isXerial,
  lz4,
  snappy,
  snappyRaw,
  zstd,
  controlRecordType,
  type CompressionName,
} from '../../src/log/index.js';

const require = createRequire(import.meta.url);

function sample(n: number): Buffer {
  // Compressible but not trivial: repeated words with a counter.
  let s = '';
  for (let i = 0; s.length < n; i++) s += `record-${i % 97} payload ${i} `;
  return Buffer.from(s.slice(0, n));
}

describe('compression codecs', () => {
  beforeAll(() => initCodecs());

  for (const [name, codec] of Object.entries({ gzip, snappy, snappyRaw, lz4, zstd })) {
    it(`${name} round-trips small, empty and multi-block inputs`, () => {
      for (const input of [Buffer.alloc(0), Buffer.from('x'), sample(1000), sample(200_000)]) {
        const c = codec.compress(input);
        expect(codec.decompress(c).equals(input)).toBe(true);
        if (input.length > 1000) expect(c.length).toBeLessThan(input.length);
      }
    });
  }

  it('snappy writes xerial framing (magic, version, compat, [len][block]...) and reads raw too', () => {
    const input = sample(100_000);
    const framed = encodeXerial(input);
    expect(isXerial(framed)).toBe(true);
    expect(framed.subarray(0, 8)).toEqual(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]));
    expect(framed.readInt32BE(8)).toBe(1);
    expect(framed.readInt32BE(12)).toBe(1);
    // 100 kB in 32 KiB blocks: four blocks.
    let pos = 16;
    let blocks = 0;
    while (pos < framed.length) {
      pos += 4 + framed.readInt32BE(pos);
      blocks++;
    }
    expect(blocks).toBe(4);
    expect(decodeXerial(framed).equals(input)).toBe(true);
    expect(snappy.decompress(snappyRaw.compress(input)).equals(input)).toBe(true);
    // kafkajs-snappy (an independent implementation) reads our xerial output.
    const kjs = require('kafkajs-snappy')() as { decompress(b: Buffer): Promise<Buffer> };
    return kjs.decompress(framed).then((out) => expect(out.equals(input)).toBe(true));
  });

  it('zstd decodes frames without a content size (as streaming producers write them)', () => {
    const input = Buffer.alloc(5 * 1024 * 1024, 7);
    for (let i = 0; i < input.length; i += 1000) input[i] = i & 0xff;
    const c = zstd.compress(input);
    // Rewrite the frame header: drop Frame_Content_Size, clear Single_Segment, declare an 8 MiB window.
    const fhd = c[4]!;
    const single = (fhd >> 5) & 1;
    const fcsSize = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    const headerEnd = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + fcsSize;
    const noSize = Buffer.concat([c.subarray(0, 4), Buffer.from([fhd & 0x1f & ~0x20, 13 << 3]), c.subarray(headerEnd)]);
    expect(noSize.length).toBeLessThan(c.length);
    expect(zstd.decompress(noSize).equals(input)).toBe(true);
  });
});

describe('record batches', () => {
  beforeAll(() => initCodecs());

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    it(`encodes and decodes a ${compression} batch with keys, nulls, headers and timestamps`, () => {
      const buf = encodeRecordBatch({
        baseOffset: 100,
        compression,
        producerId: 7,
        producerEpoch: 1,
        baseSequence: 42,
        records: [
          { key: 'a', value: 'one', timestamp: 1_700_000_000_000, headers: [{ key: 'h1', value: 'v1' }, { key: 'h2', value: null }] },
          { key: null, value: sample(5000), timestamp: 1_700_000_000_500 },
          { key: Buffer.from([0, 1, 2]), value: null, timestamp: 1_699_999_999_000 },
        ],
      });
      const [b, ...rest] = decodeRecordBatches(buf, { verifyCrc: true });
      expect(rest).toEqual([]);
      expect(b).toMatchObject({
        baseOffset: 100,
        lastOffset: 102,
        compression: CompressionCodec[compression],
        producerId: 7,
        producerEpoch: 1,
        baseSequence: 42,
        recordsCount: 3,
        baseTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_500,
        isTransactional: false,
        isControl: false,
        timestampType: 'CreateTime',
        sizeInBytes: buf.length,
      });
      expect(b!.records.map((r) => r.offset)).toEqual([100, 101, 102]);
      expect(b!.records.map((r) => r.timestamp)).toEqual([1_700_000_000_000, 1_700_000_000_500, 1_699_999_999_000]);
      expect(b!.records[0]!.headers).toEqual([
        { key: 'h1', value: Buffer.from('v1') },
        { key: 'h2', value: null },
      ]);
      expect(b!.records[1]!.key).toBeNull();
      expect(b!.records[1]!.value!.equals(sample(5000))).toBe(true);
      expect(b!.records[2]!.value).toBeNull();
    });
  }

  it('encodes control batches (transaction markers)', () => {
    const [b] = decodeRecordBatches(encodeControlBatch({ producerId: 3, producerEpoch: 0, commit: false }));
    expect(b!.isControl).toBe(true);
    expect(b!.isTransactional).toBe(true);
    expect(controlRecordType(b!.records[0]!)).toBe('abort');
  });

  it('ignores a partial trailing batch and detects bad CRCs on request', () => {
    const one = encodeRecordBatch({ records: [{ value: 'x' }] });
    const two = encodeRecordBatch({ records: [{ value: 'y' }] });
    const cut = Buffer.concat([one, two.subarray(0, 30)]);
    expect(decodeRecordBatches(cut)).toHaveLength(1);
    const bad = Buffer.from(one);
    bad[bad.length - 1] ^= 1;
    expect(() => decodeRecordBatches(bad, { verifyCrc: true })).toThrow(/CRC/);
  });

  it('is compatible with kafkajs: its batches decode here, ours decode there', async () => {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
      RecordBatch: (o: object) => Promise<{ buffer: Buffer }>;
    };
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: object) => unknown;
    const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{ records: { key: Buffer; value: Buffer; offset: string; headers: Record<string, Buffer> }[] }>;
    const now = Date.now();
    for (const compression of [0, 1]) {
      const theirs = await RecordBatch({
        compression,
        firstTimestamp: now,
        maxTimestamp: now,
        lastOffsetDelta: 1,
        records: [
          Record({ offsetDelta: 0, key: Buffer.from('k0'), value: Buffer.from('v0'), headers: { a: Buffer.from('b') } }),
          Record({ offsetDelta: 1, timestampDelta: 5, key: Buffer.from('k1'), value: Buffer.from('v1') }),
        ],
      });
      const [b] = decodeRecordBatches(theirs.buffer, { verifyCrc: true });
      expect(b!.records.map((r) => [r.key!.toString(), r.value!.toString(), r.timestamp - now])).toEqual([
        ['k0', 'v0', 0],
        ['k1', 'v1', 5],
      ]);
      expect(b!.records[0]!.headers).toEqual([{ key: 'a', value: Buffer.from('b') }]);
    }
    const ours = encodeRecordBatch({ baseOffset: 5, compression: 'gzip', records: [{ key: 'x', value: 'y', headers: [{ key: 'h', value: 'v' }] }] });
    const decoded = await decodeBatch(new Decoder(ours));
    expect(decoded.records[0]!.key.toString()).toBe('x');
    expect(decoded.records[0]!.value.toString()).toBe('y');
    expect(decoded.records[0]!.offset).toBe('5');
    expect(decoded.records[0]!.headers.h!.toString()).toBe('v');
  });
});
