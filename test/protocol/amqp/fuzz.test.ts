import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { METHOD_IDS } from '../../../src/protocol/amqp/generated/methods.js';
import { RawClient, frame } from './raw-client.js';
import { channel, startTarget, type TestTarget } from './helpers.js';

let target: TestTarget;
let port: number;
beforeAll(async () => {
  target = await startTarget();
  port = Number(new URL(target.url).port || 5672);
});
afterAll(async () => {
  await target.stop();
});

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('garbage after the handshake', () => {
  it('never takes the broker down and never answers with an internal error', async () => {
    const codes = new Set<number>();
    const ids = Object.values(METHOD_IDS);
    const rand = rng(0x5eed);
    const byte = () => Math.floor(rand() * 256);
    for (let round = 0; round < 40; round++) {
      const c = await RawClient.connect(port);
      await c.handshake();
      await c.openChannel(1);
      for (let i = 0; i < 5; i++) {
        const kind = rand();
        let payload: Buffer;
        if (kind < 0.5) {
          // a real method id with random argument bytes
          const id = ids[Math.floor(rand() * ids.length)]!;
          payload = Buffer.alloc(4 + Math.floor(rand() * 40));
          payload.writeUInt32BE(id >>> 0, 0);
          for (let j = 4; j < payload.length; j++) payload[j] = byte();
        } else {
          payload = Buffer.from(Array.from({ length: Math.floor(rand() * 60) }, byte));
        }
        const type = [1, 2, 3, 8][Math.floor(rand() * 4)]!;
        c.write(frame(type, rand() < 0.8 ? 1 : Math.floor(rand() * 5), payload));
      }
      await new Promise((r) => setTimeout(r, 20));
      for (const f of c.frames) if (f.method?.kind === 'connection.close' || f.method?.kind === 'channel.close') codes.add(f.method.replyCode);
      c.close();
    }
    // Every malformed input was answered with a protocol code, none with 541 INTERNAL_ERROR
    // (RabbitMQ 3.10 does answer some of these garbage frames with 541).
    if (process.env.RAILYARD_AMQP_URL === undefined) expect(codes.has(541)).toBe(false);
    expect(codes.size).toBeGreaterThan(0);
    const conn = await amqp.connect(target.url);
    const ch = await channel(conn);
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-/);
    await conn.close();
  });
});
