import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { startBroker, type Broker } from '../../../src/index.js';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;

// kafkajs ships gzip only; snappy comes from kafkajs-snappy, lz4 (frame format) from a codec on lz4-napi.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: async (buffer: Buffer) => decompressFrame(buffer),
});

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.stop();
});

/** Attributes' codec bits of every batch in a partition's first segment, read from disk. */
function storedCodecs(topic: string): number[] {
  const dir = join(broker.dataDir, 'kafka', `${topic}-0`);
  const log = readdirSync(dir).find((f) => f.endsWith('.log'))!;
  const buf = readFileSync(join(dir, log));
  const codecs: number[] = [];
  for (let pos = 0; pos + 61 <= buf.length; ) {
    const len = buf.readInt32BE(pos + 8);
    codecs.push(buf.readInt16BE(pos + 21) & 0x7);
    pos += 12 + len;
  }
  return codecs;
}

describe.each([
  ['gzip', CompressionTypes.GZIP, 1],
  ['snappy', CompressionTypes.Snappy, 2],
  ['lz4', CompressionTypes.LZ4, 3],
] as const)('kafkajs with %s', (name, type, codecBits) => {
  it('round-trips records and stores the compressed batches verbatim', async () => {
    const kafka = new Kafka({ clientId: `c-${name}`, brokers: [broker.kafka.bootstrap], logLevel: logLevel.NOTHING });
    const topic = `compressed-${name}`;
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `${name} value ${i} `.repeat(20), headers: { i: String(i) } }));
    await producer.send({ topic, compression: type, messages: messages.slice(0, 100) });
    await producer.send({ topic, compression: type, messages: messages.slice(100) });
    await producer.disconnect();
    expect(storedCodecs(topic)).toEqual([codecBits, codecBits]);

    const consumer = kafka.consumer({ groupId: `g-${name}`, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 3000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: Array<{ key: string; value: string; i: string }> = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key!.toString(), value: message.value!.toString(), i: message.headers!.i!.toString() });
          if (got.length === messages.length) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(got).toEqual(messages.map((m) => ({ key: m.key, value: m.value, i: m.headers.i })));
  });
});
