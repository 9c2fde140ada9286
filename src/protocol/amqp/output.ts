import type net from 'node:net';
import { Writer } from './wire.js';

/** A write request of Node's stream handles, with what a direct write needs when it completes. */
interface WriteReq {
  handle: StreamHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  done: () => void;
  owner: OutputWriter;
  socket: net.Socket;
}

/** The part of a socket's libuv handle a direct write uses. */
interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  /** Set by every handle write; `kLastWriteWasAsync` is non-zero when the kernel did not take it all. */
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

/**
 * Node's stream-handle binding, for writing to a socket's handle without the Writable stream around
 * it: per write, `socket.write` allocated its bookkeeping, queued an after-write `nextTick`, and the
 * tick-queue drain that ran it allocated a `SafeMap` (Node 20's processPromiseRejections), a third of
 * the broker's garbage per message at 5k msg/s (BENCH_HEAP_PROFILE). Null when this Node has no such
 * binding: `socket.write` is used then.
 */
const streams: StreamBinding | null = (() => {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamBinding> }).binding('stream_wrap');
    return typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number' ? (b as StreamBinding) : null;
  } catch {
    return null;
  }
})();

/** A direct write the kernel had not taken at once has finished (libuv calls it, with `this` the request). */
function directWriteDone(this: WriteReq, status: number): void {
  const owner = this.owner;
  owner.asyncWrites--;
  this.done();
  if (status < 0) this.socket.destroy();
  else if (owner.asyncWrites === 0) owner.onWritable?.();
}

/** Size of the buffers a connection encodes its output into. */
export const SLAB_BYTES = 64 * 1024;
/** Written-out slabs a connection keeps for reuse. */
const SPARE_SLABS = 2;

class Slab {
  /** Writes taken from this slab that the socket has not finished. */
  inFlight = 0;
  /** No longer the slab being encoded into. */
  retired = false;

  constructor(
    readonly buf: Buffer,
    private readonly owner: OutputWriter,
  ) {}

  /** socket.write's callback for every chunk of this slab (one function, so Node batches the callbacks). */
  readonly written = (): void => {
    if (--this.inFlight === 0) this.owner.drained(this);
  };
}

/**
 * A connection's output. Frames are encoded into a slab and a flush hands the socket a view of the
 * bytes encoded since the previous flush, so nothing is copied and no buffer is allocated per
 * flush; a slab is encoded into again once the socket has written every chunk taken from it. A copy
 * and a fresh buffer per flush were a delivered message's size of both per message at low rates,
 * and fresh buffers (external memory) are what start V8's full collections on this path.
 */
export class OutputWriter extends Writer {
  /** First byte not yet handed to the socket. */
  private start = 0;
  private slab: Slab;
  private readonly spare: Slab[] = [];
  /** Direct writes the kernel has not finished taking. */
  asyncWrites = 0;
  /**
   * Called when every direct write that the kernel could not take at once has finished: the socket
   * takes more again. `flushTo` returned false for those, as `socket.write` does when it is full,
   * and the socket emits no 'drain' for bytes that did not go through its stream.
   */
  onWritable: (() => void) | undefined;

  constructor() {
    super(0);
    this.slab = new Slab(Buffer.allocUnsafeSlow(SLAB_BYTES), this);
    this.buf = this.slab.buf;
  }

  /** Bytes encoded and not yet handed to the socket. */
  get pending(): number {
    return this.pos - this.start;
  }

  /** Whether `n` more bytes fit without moving to another slab. */
  fits(n: number): boolean {
    return this.pos + n <= this.buf.length;
  }

  /** Moves to another slab when `n` bytes do not fit, taking the bytes not yet handed out along. */
  override ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    let size = SLAB_BYTES;
    while (size < pending + n) size *= 2;
    this.moveTo(size);
  }

  /** Continues in a slab of `size` bytes (a spare one when standard), taking the unflushed bytes along. */
  private moveTo(size: number): void {
    const pending = this.pos - this.start;
    const next = (size === SLAB_BYTES ? this.spare.pop() : undefined) ?? new Slab(Buffer.allocUnsafeSlow(size), this);
    next.retired = false;
    this.buf.copy(next.buf, 0, this.start, this.pos);
    const old = this.slab;
    this.slab = next;
    this.buf = next.buf;
    this.start = 0;
    this.pos = pending;
    old.retired = true;
    if (old.inFlight === 0) this.drained(old);
  }

  /** Writes what was encoded since the last flush; returns socket.write's answer. */
  flushTo(socket: net.Socket): boolean {
    const chunk = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    const slab = this.slab;
    slab.inFlight++;
    // A slab grown for one large message is not kept: the socket holds it until written, then it goes.
    if (this.buf.length > SLAB_BYTES) this.moveTo(SLAB_BYTES);
    return this.write(socket, chunk, slab.written);
  }

  /**
   * Hands `chunk` to the socket's handle directly when the socket's own stream holds nothing (bytes
   * it buffered would otherwise be overtaken; bytes it handed to libuv stay ahead in libuv's queue),
   * else through `socket.write`. `done` runs once the kernel has the bytes or the write failed.
   */
  private write(socket: net.Socket, chunk: Buffer, done: () => void): boolean {
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    if (streams === null || !handle || socket.writableLength > 0 || socket.destroyed || socket.writableEnded) return socket.write(chunk, done);
    const req = new streams.WriteWrap();
    req.handle = handle;
    req.oncomplete = directWriteDone;
    req.async = false;
    req.done = done;
    req.owner = this;
    req.socket = socket;
    const err = handle.writeBuffer(req, chunk);
    if (err !== 0) {
      // EPIPE, ECONNRESET: the peer is gone; closing the socket tears the connection down.
      done();
      socket.destroy();
      return false;
    }
    if (streams.streamBaseState[streams.kLastWriteWasAsync] === 0) {
      done();
      return true;
    }
    // The rest waits in libuv's queue; deliveries pause until it is written (onWritable).
    req.async = true;
    this.asyncWrites++;
    return false;
  }

  /** Forgets what was encoded and not flushed (the socket is gone). */
  discard(): void {
    this.start = this.pos;
  }

  /** Every chunk of `slab` has been written (or failed with the socket). */
  drained(slab: Slab): void {
    if (slab === this.slab) {
      // Nothing waiting either: encode from the start again.
      if (this.start === this.pos) this.start = this.pos = 0;
    } else if (slab.retired && slab.buf.length === SLAB_BYTES && this.spare.length < SPARE_SLABS) {
      this.spare.push(slab);
    }
  }

  override take(): Buffer {
    throw new Error('OutputWriter output leaves through flushTo');
  }
}

/** Output that can be handed to its socket now. */
export interface Flushable {
  flush(): void;
}

/**
 * Connections written to while one socket read is handled, flushed together once that read is
 * done: one socket write per connection per read, as a microtask per connection gave, without
 * queueMicrotask's AsyncResource and bound function per call. At low rates a read carries one or
 * a few messages, and those two objects plus running them were a visible part of the garbage and
 * CPU per message. Output written outside a read (timers, durable writes finishing) is not covered
 * and still goes through a microtask.
 */
export class ReadTurn {
  private depth = 0;
  /**
   * Deferred connections in `dirty[0, count)`. The array keeps its slots between reads: emptying it
   * with `length = 0` dropped its backing store, so the first defer of every read allocated a new one
   * (~3% of the broker's garbage per message at 5k msg/s, where nearly every read defers).
   */
  private readonly dirty: Array<Flushable | undefined> = [];
  private count = 0;

  /** A read is being handled: whatever is deferred now is flushed when it ends. */
  get open(): boolean {
    return this.depth > 0;
  }

  begin(): void {
    this.depth++;
  }

  defer(out: Flushable): void {
    if (this.count < this.dirty.length) this.dirty[this.count] = out;
    else this.dirty.push(out);
    this.count++;
  }

  end(): void {
    if (--this.depth > 0) return;
    const d = this.dirty;
    try {
      // Against `count` as it grows: a flush may not defer today, but one deferred would still be flushed.
      for (let i = 0; i < this.count; i++) d[i]!.flush();
    } finally {
      // Cleared so a closed connection is not kept alive by its slot.
      for (let i = 0; i < this.count; i++) d[i] = undefined;
      this.count = 0;
    }
  }
}
