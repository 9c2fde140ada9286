import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PooledReads, type PooledSocket, type ReadSink } from '../../src/net/pooled-reads.js';

interface Harness {
  server: net.Server;
  port: number;
  adopted: Promise<PooledSocket>;
}

const servers: net.Server[] = [];
const clients: net.Socket[] = [];
const accepted: PooledSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  // A paused server socket would never notice its peer leave: server.close() would wait for ever.
  for (const a of accepted.splice(0)) a.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server whose first connection is adopted with `sink`. */
async function harness(reads: PooledReads, sink: ReadSink, pauseOnConnect = true): Promise<Harness> {
  let take!: (s: PooledSocket) => void;
  const adopted = new Promise<PooledSocket>((r) => (take = r));
  const server = net.createServer({ pauseOnConnect }, (socket) => {
    const a = reads.adopt(socket, sink);
    accepted.push(a);
    take(a);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, adopted };
}

async function connect(port: number): Promise<net.Socket> {
  const c = net.connect(port, '127.0.0.1');
  clients.push(c);
  await new Promise((r) => c.once('connect', r));
  return c;
}

function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A sink that copies everything it gets and remembers which memory each read landed in. */
function collector() {
  const got: Buffer[] = [];
  const memory = new Set<ArrayBufferLike>();
  const sink: ReadSink = {
    received(bytes, inTarget) {
      expect(inTarget).toBe(false);
      memory.add(bytes.buffer);
      got.push(Buffer.from(bytes));
    },
  };
  return { sink, got, memory, bytes: () => got.reduce((n, b) => n + b.length, 0) };
}

describe('PooledReads', () => {
  it('reads every connection into the one scratch buffer and delivers the stream intact', async () => {
    const reads = new PooledReads(4096);
    const a = collector();
    const b = collector();
    const ha = await harness(reads, a.sink);
    const hb = await harness(reads, b.sink);
    const ca = await connect(ha.port);
    const cb = await connect(hb.port);
    const pa = await ha.adopted;
    await hb.adopted;
    expect(pa.pooled).toBe(true);
    const da = pattern(300_000, 1);
    const db = pattern(200_000, 2);
    ca.write(da);
    cb.write(db);
    await vi.waitFor(() => expect(a.bytes() + b.bytes()).toBe(da.length + db.length));
    expect(Buffer.concat(a.got)).toEqual(da);
    expect(Buffer.concat(b.got)).toEqual(db);
    // Many reads, no buffer of their own: both sockets read into the same 4 KiB.
    expect(a.got.length).toBeGreaterThan(50);
    expect(new Set([...a.memory, ...b.memory]).size).toBe(1);
    expect(Math.max(...a.got.map((g) => g.length))).toBeLessThanOrEqual(4096);
  });

  it('reads straight into the buffer the sink asks for', async () => {
    const reads = new PooledReads(1024);
    const target = Buffer.alloc(100_000);
    let filled = 0;
    const scratchBytes: Buffer[] = [];
    const sink: ReadSink = {
      readTarget: () => (filled < target.length ? target.subarray(filled) : null),
      received(bytes, inTarget) {
        if (inTarget) {
          expect(bytes.buffer).toBe(target.buffer);
          expect(bytes.byteOffset).toBe(target.byteOffset + filled);
          filled += bytes.length;
        } else scratchBytes.push(Buffer.from(bytes));
      },
    };
    const h = await harness(reads, sink);
    const c = await connect(h.port);
    await h.adopted;
    const data = pattern(100_000 + 5000, 3);
    c.write(data);
    await vi.waitFor(() => expect(filled + scratchBytes.reduce((n, b) => n + b.length, 0)).toBe(data.length));
    expect(target).toEqual(data.subarray(0, 100_000));
    expect(Buffer.concat(scratchBytes)).toEqual(data.subarray(100_000));
  });

  it('pause stops delivery until resume, with nothing lost', async () => {
    const reads = new PooledReads(8192);
    const got: Buffer[] = [];
    let adopted: PooledSocket | null = null;
    const sink: ReadSink = {
      received(bytes) {
        got.push(Buffer.from(bytes));
        // Back-pressure from inside the read callback, as a server that has too much in flight does.
        adopted!.pause();
      },
    };
    const h = await harness(reads, sink);
    const c = await connect(h.port);
    adopted = await h.adopted;
    const data = pattern(300_000, 4);
    c.write(data);
    await vi.waitFor(() => expect(got.length).toBe(1));
    await new Promise((r) => setTimeout(r, 100));
    expect(got.length).toBe(1);
    expect(adopted.paused).toBe(true);
    // A stream-level resume behind the switch's back (Node's own resume_ ticks) cannot undo the pause for more than one read.
    adopted.socket.resume();
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).toBeLessThanOrEqual(2);
    const total = () => got.reduce((n, b) => n + b.length, 0);
    while (total() < data.length) {
      const before = got.length;
      adopted.resume();
      while (got.length === before) await new Promise((r) => setTimeout(r, 1));
      // Each resume lets exactly one read through before the sink pauses again.
      expect(got.length).toBe(before + 1);
    }
    expect(Buffer.concat(got)).toEqual(data);
  });

  it('writes, ends and closes like any socket, and the server closes once adopted sockets are gone', async () => {
    const reads = new PooledReads();
    const echo: { socket: net.Socket | null } = { socket: null };
    const h = await harness(reads, { received: (bytes) => echo.socket!.write(Buffer.from(bytes)) });
    const c = await connect(h.port);
    const adopted = await h.adopted;
    echo.socket = adopted.socket;
    const events: string[] = [];
    adopted.socket.on('end', () => events.push('end'));
    adopted.socket.on('close', () => events.push('close'));
    expect(adopted.socket.remotePort).toBe(c.localPort);
    const echoed: Buffer[] = [];
    c.on('data', (d: Buffer) => echoed.push(d));
    c.write('ping');
    await vi.waitFor(() => expect(Buffer.concat(echoed).toString()).toBe('ping'));
    await new Promise<void>((r) => h.server.getConnections((_e, n) => (expect(n).toBe(1), r())));
    c.end();
    await vi.waitFor(() => expect(events).toEqual(['end', 'close']));
    await new Promise<void>((r) => h.server.getConnections((_e, n) => (expect(n).toBe(0), r())));
  });

  it('lets server.close() finish after the adopted socket is destroyed', async () => {
    const reads = new PooledReads();
    const h = await harness(reads, { received: () => undefined });
    await connect(h.port);
    const adopted = await h.adopted;
    let closed = false;
    h.server.close(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    adopted.socket.destroy();
    await vi.waitFor(() => expect(closed).toBe(true));
    servers.splice(servers.indexOf(h.server), 1);
  });

  it('stops delivering at once when the sink destroys the socket', async () => {
    const reads = new PooledReads(1024);
    let calls = 0;
    let adopted: PooledSocket | null = null;
    const h = await harness(reads, {
      received() {
        calls++;
        adopted!.socket.destroy();
      },
    });
    const c = await connect(h.port);
    adopted = await h.adopted;
    const clientClosed = new Promise((r) => c.on('close', r));
    c.on('error', () => undefined);
    c.write(pattern(500_000));
    await clientClosed;
    expect(calls).toBe(1);
  });

  it('reports a peer reset as an error followed by close', async () => {
    const reads = new PooledReads();
    const h = await harness(reads, { received: () => undefined });
    const c = await connect(h.port);
    const adopted = await h.adopted;
    const errors: Error[] = [];
    adopted.socket.on('error', (e) => errors.push(e));
    const closed = new Promise((r) => adopted.socket.on('close', r));
    c.write('x');
    c.resetAndDestroy();
    await closed;
    // The reset shows up either as ECONNRESET or as a plain end, depending on timing: never as an exception.
    for (const e of errors) expect((e as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  it('falls back to data events for a socket that was not accepted paused', async () => {
    const reads = new PooledReads();
    const col = collector();
    const h = await harness(reads, col.sink, false);
    const c = await connect(h.port);
    const adopted = await h.adopted;
    expect(adopted.pooled).toBe(false);
    c.write(pattern(10_000));
    await vi.waitFor(() => expect(col.bytes()).toBe(10_000));
    expect(Buffer.concat(col.got)).toEqual(pattern(10_000));
  });
});
