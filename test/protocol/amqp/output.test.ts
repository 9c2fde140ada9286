import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { OutputWriter, ReadTurn, SLAB_BYTES } from '../../../src/protocol/amqp/output.js';
import { startTarget } from './helpers.js';

/** A socket whose writes complete when the test says so; it reads a chunk's bytes only then, as a busy kernel would. */
class SlowSocket {
  readonly queued: Array<{ chunk: Buffer; done: () => void }> = [];
  readonly received: Buffer[] = [];

  write(chunk: Buffer, done: () => void): boolean {
    this.queued.push({ chunk, done });
    return true;
  }

  complete(n: number): void {
    for (const { chunk, done } of this.queued.splice(0, n)) {
      this.received.push(Buffer.from(chunk));
      done();
    }
  }
}

/** Encodes `n` bytes, as a frame would be. */
function encode(w: OutputWriter, n: number): void {
  w.ensure(n);
  w.buf.fill(n & 0xff, w.pos, w.pos + n);
  w.pos += n;
}

describe('OutputWriter', () => {
  // Slabs are reused once written: a chunk still queued in the socket must never be overwritten.
  it('delivers every byte in order while writes complete late, slabs are reused and outgrown', () => {
    const w = new OutputWriter();
    const socket = new SlowSocket();
    const expected: Buffer[] = [];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      // Mostly small records, sometimes one larger than a slab.
      const size = random(50) === 0 ? SLAB_BYTES + random(SLAB_BYTES) : 4 + random(3000);
      const rec = Buffer.alloc(size, i & 0xff);
      rec.writeUInt32BE(i, 0);
      expected.push(rec);
      w.ensure(size);
      rec.copy(w.buf, w.pos);
      w.pos += size;
      if (random(4) === 0) w.flushTo(socket as unknown as net.Socket);
      if (random(3) === 0) socket.complete(random(4));
    }
    w.flushTo(socket as unknown as net.Socket);
    socket.complete(socket.queued.length);
    expect(Buffer.concat(socket.received).equals(Buffer.concat(expected))).toBe(true);
  });

  it('reuses a written-out slab instead of allocating another', () => {
    const w = new OutputWriter();
    const socket = new SlowSocket();
    const fill = (n: number) => encode(w, n);
    fill(SLAB_BYTES - 10);
    const first = w.buf;
    w.flushTo(socket as unknown as net.Socket);
    socket.complete(1);
    // Written out and nothing pending: encoding starts over in the same slab.
    fill(SLAB_BYTES - 10);
    expect(w.buf).toBe(first);
    // Moving on while the first slab's last chunk is still queued; once written it becomes the spare.
    w.flushTo(socket as unknown as net.Socket);
    fill(100);
    const second = w.buf;
    expect(second).not.toBe(first);
    socket.complete(1);
    fill(SLAB_BYTES - 200);
    w.flushTo(socket as unknown as net.Socket);
    fill(SLAB_BYTES - 10);
    expect(w.buf).toBe(first);
  });

  it('keeps a slab it moved away from with nothing in flight as the spare', () => {
    const w = new OutputWriter();
    const socket = new SlowSocket();
    const fill = (n: number) => encode(w, n);
    fill(SLAB_BYTES - 1000);
    const first = w.buf;
    w.flushTo(socket as unknown as net.Socket);
    fill(500);
    // Written out, but 500 bytes wait: the slab is not started over.
    socket.complete(1);
    // Those 500 move along with the next record, and the first slab, with nothing in flight, becomes the spare.
    fill(1000);
    expect(w.buf).not.toBe(first);
    w.flushTo(socket as unknown as net.Socket);
    fill(SLAB_BYTES - 1000);
    expect(w.buf).toBe(first);
  });

  it('does not keep a slab grown for one large message once it is flushed', () => {
    const w = new OutputWriter();
    const socket = new SlowSocket();
    const big = Buffer.alloc(5 * SLAB_BYTES, 1);
    w.ensure(big.length);
    big.copy(w.buf, w.pos);
    w.pos += big.length;
    expect(w.buf.length).toBeGreaterThan(SLAB_BYTES);
    w.flushTo(socket as unknown as net.Socket);
    expect(w.buf.length).toBe(SLAB_BYTES);
    // The chunk handed out still holds the message until the socket has written it.
    socket.complete(1);
    expect(socket.received[0]!.equals(big)).toBe(true);
  });
});

describe('ReadTurn', () => {
  it('flushes what was deferred during a read once, when the outermost read ends', () => {
    const turn = new ReadTurn();
    const flushed: string[] = [];
    const out = (name: string) => ({ flush: () => flushed.push(name) });
    expect(turn.open).toBe(false);
    turn.begin();
    expect(turn.open).toBe(true);
    turn.defer(out('a'));
    // A read handled inside another (a nested turn) must not flush the outer one's output early.
    turn.begin();
    turn.defer(out('b'));
    turn.end();
    expect(flushed).toEqual([]);
    turn.end();
    expect(flushed).toEqual(['a', 'b']);
    expect(turn.open).toBe(false);
    // The list is emptied: the next read flushes only its own output.
    turn.begin();
    turn.defer(out('c'));
    turn.end();
    expect(flushed).toEqual(['a', 'b', 'c']);
  });

  it('ends the turn even when a flush throws', () => {
    const turn = new ReadTurn();
    turn.begin();
    turn.defer({
      flush: () => {
        throw new Error('boom');
      },
    });
    expect(() => turn.end()).toThrow('boom');
    expect(turn.open).toBe(false);
    let flushed = 0;
    turn.begin();
    turn.defer({ flush: () => flushed++ });
    turn.end();
    expect(flushed).toBe(1);
  });
});

describe('deliveries through the output slabs', () => {
  it('arrive intact when small and slab-sized bodies interleave', async () => {
    const target = await startTarget();
    try {
      const conn = await amqp.connect(target.url);
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      const bodies = Array.from({ length: 60 }, (_, i) => Buffer.alloc(i % 7 === 0 ? SLAB_BYTES + 1000 * i : 10 + i * 300, i));
      for (const b of bodies) ch.sendToQueue(queue, b);
      const got: Buffer[] = [];
      await new Promise<void>((resolve) => {
        void ch.consume(queue, (m) => {
          if (!m) return;
          got.push(m.content);
          ch.ack(m);
          if (got.length === bodies.length) resolve();
        });
      });
      expect(got.map((b) => b.length)).toEqual(bodies.map((b) => b.length));
      for (let i = 0; i < bodies.length; i++) expect(got[i]!.equals(bodies[i]!), `message ${i}`).toBe(true);
      await conn.close();
    } finally {
      await target.stop();
    }
  });
});
