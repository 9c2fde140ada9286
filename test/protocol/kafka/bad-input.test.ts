import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaBroker, type TestKafkaBroker } from '../../helpers/kafka-broker.js';
import { encodedRequest } from '../../helpers/kafka-codec-client.js';
import { RawKafkaClient, parseApiVersionsResponse, requestFrame } from '../../helpers/kafka-raw.js';

const MAX_FRAME = 4096;

function sizePrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

describe('Kafka bad input', () => {
  let broker: TestKafkaBroker;
  let bystander: RawKafkaClient;

  beforeAll(async () => {
    broker = await startKafkaBroker({ kafka: { maxFrameBytes: MAX_FRAME } });
    bystander = await RawKafkaClient.connect(broker.port);
  });
  afterAll(async () => {
    bystander?.close();
    await broker?.stop();
  });

  /** Sends `bytes` on a fresh connection and expects the server to close it, while the bystander keeps working. */
  async function expectClosed(bytes: Buffer | Buffer[]): Promise<void> {
    const c = await RawKafkaClient.connect(broker.port);
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) await c.write(b).catch(() => undefined);
    expect(await c.closedWithin()).toBe(true);
    const id = Math.floor(Math.random() * 1e9);
    await bystander.write(requestFrame(18, 0, id));
    expect(parseApiVersionsResponse(await bystander.nextFrame(), 0)).toMatchObject({ correlationId: id, errorCode: 0 });
  }

  it('closes a connection announcing a frame above kafka.maxFrameBytes (before the body arrives)', async () => {
    await expectClosed(sizePrefix(MAX_FRAME + 1));
  });

  it('accepts a frame of exactly kafka.maxFrameBytes', async () => {
    const c = await RawKafkaClient.connect(broker.port);
    // A Metadata v1 request padded to the limit: trailing bytes after the body are ignored, as Kafka does.
    const req = requestFrame(3, 1, 5, Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.alloc(MAX_FRAME)]));
    const frame = Buffer.concat([sizePrefix(MAX_FRAME), req.subarray(4, 4 + MAX_FRAME)]);
    await c.write(frame);
    expect((await c.nextFrame()).readInt32BE(0)).toBe(5);
    c.close();
  });

  it('closes a connection sending a negative frame size', async () => {
    await expectClosed(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3]));
  });

  it('closes a connection sending an unknown API key', async () => {
    await expectClosed(requestFrame(1234, 0, 1));
    await expectClosed(requestFrame(-1, 0, 1));
  });

  it('closes a connection using an unsupported version of an API other than ApiVersions', async () => {
    await expectClosed(requestFrame(3, 99, 1, Buffer.from([0, 0, 0, 0])));
    // Produce v0-2 are advertised (librdkafka needs the overlap) but the handler refuses them in its own way;
    // Fetch below 4 is outside the advertised range.
    await expectClosed(requestFrame(1, 3, 1, Buffer.alloc(32)));
  });

  it('closes a connection whose request is shorter than a request header', async () => {
    await expectClosed(Buffer.concat([sizePrefix(5), Buffer.from([0, 18, 0, 0, 0])]));
    await expectClosed(sizePrefix(0));
  });

  it('closes a connection sending a truncated request body', async () => {
    const full = encodedRequest(19, 3, 1, { topics: [{ name: 'cut', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    const cut = full.subarray(4, full.length - 6);
    await expectClosed(Buffer.concat([sizePrefix(cut.length), cut]));
    expect(broker.ctx.log.topic('cut')).toBeUndefined();
  });

  it('closes a connection sending garbage inside a well-sized frame', async () => {
    // A Metadata v1 request whose topic array claims 2^31-1 entries.
    await expectClosed(requestFrame(3, 1, 1, Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 1])));
    // A string length longer than the frame.
    await expectClosed(requestFrame(19, 2, 1, Buffer.from([0, 0, 0, 1, 0x7f, 0x00, 0x61])));
  });

  it('closes a connection whose client id is cut short', async () => {
    const frame = Buffer.concat([sizePrefix(10), Buffer.from([0, 18, 0, 1, 0, 0, 0, 1, 0, 9])]);
    await expectClosed(frame);
  });

  it('still serves stock clients after all of the above', async () => {
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'after-garbage' }] })).toBe(true);
      expect(await admin.listTopics()).toContain('after-garbage');
    } finally {
      await admin.disconnect();
    }
  });
});
