/**
 * Socket reads into memory we own instead of a fresh buffer per read.
 *
 * A plain net.Socket allocates a new 64 KiB buffer for every read. At a few hundred MB/s that is
 * thousands of external allocations per second, and the GC work they trigger was about a fifth of
 * the Kafka door's produce CPU. Node's `onread` option (read into a given buffer, hand the bytes to a
 * callback) exists only for client sockets, but an accepted socket's handle can be wrapped in a new
 * Socket that has it, provided no read happened yet: the server must be created with
 * `pauseOnConnect: true` (see `listenTcp`'s option).
 *
 * Every read lands either in one scratch buffer shared by all the sockets of a `PooledReads` (safe:
 * a read and its callback run back to back on this thread, so the next read into the scratch buffer
 * cannot start before the callback has returned) or in a buffer the sink asks for: a frame being
 * assembled can have the kernel copy its bytes straight into place.
 */
import net from 'node:net';

/** Takes the bytes of one socket as they are read. */
export interface ReadSink {
  /**
   * Where the next read should go, or null for the shared scratch buffer. Asked once after every read
   * (and once at adoption). A non-null target must not be empty, and must stay valid until the next
   * `received` call or the socket's close.
   */
  readTarget?(): Buffer | null;
  /**
   * Bytes just read. With `inTarget` false they are a view of memory that is overwritten once this
   * returns: whatever is kept must be copied. With `inTarget` true they are the start of the buffer
   * the last `readTarget` call returned. Throwing is not allowed: a bad stream closes the socket
   * through the sink's own owner.
   */
  received(bytes: Buffer, inTarget: boolean): void;
  /**
   * The same as `received(buf.subarray(0, length), inTarget)`, called instead of it when defined:
   * the bytes are `buf[0, length)` of the buffer that was read into, so no view is made per read
   * (a Buffer object per read was ~70 B of garbage per message at 5k msg/s in AMQP's (d)).
   */
  receivedRange?(buf: Buffer, length: number, inTarget: boolean): void;
}

/** An adopted socket and the switch that stops and restarts reading it. */
export interface PooledSocket {
  /** The socket to write to, end and destroy, and whose 'drain', 'error' and 'close' to listen to. */
  readonly socket: net.Socket;
  /** Stops reading (no `received` calls after the one in progress) until `resume`. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** False when the socket could not be adopted and is read through 'data' events (chunks of its own). */
  readonly pooled: boolean;
}

/** The parts of an accepted socket that Node keeps private and adoption has to move. */
interface SocketInternals {
  _handle: object | null;
  _server: net.Server | null;
  server: net.Server | null;
}

const internals = (s: net.Socket): SocketInternals => s as unknown as SocketInternals;

/**
 * Socket constructor options as Node 20 reads them: the private `handle` its own server uses for
 * accepted sockets, and `onread`, which the constructor honours although the types list it for connect().
 */
interface HandleSocketOptions extends net.SocketConstructorOpts {
  handle: object;
  onread: net.OnReadOpts;
}

/** Default scratch size: as much as one read of a socket usually returns here. */
const DEFAULT_SCRATCH_BYTES = 64 * 1024;

/** Reads of the sockets it adopts, through one shared scratch buffer. */
export class PooledReads {
  private readonly scratch: Buffer;

  constructor(scratchBytes = DEFAULT_SCRATCH_BYTES) {
    if (!Number.isInteger(scratchBytes) || scratchBytes < 1) throw new RangeError(`scratchBytes must be a positive integer, got ${scratchBytes}`);
    this.scratch = Buffer.allocUnsafeSlow(scratchBytes);
  }

  get scratchBytes(): number {
    return this.scratch.length;
  }

  /**
   * Takes over a socket from a server's 'connection' event. The returned `socket` replaces the one
   * given, which must not be used again. A socket that has already started reading (its server was
   * not created with `pauseOnConnect`), or whose handle is not where Node 20 keeps it, is read
   * through 'data' events instead, with the same sink.
   */
  adopt(accepted: net.Socket, sink: ReadSink): PooledSocket {
    const old = internals(accepted);
    const handle = old._handle as (object & { reading?: boolean }) | null;
    if (handle === null || handle.reading !== false || accepted.readableLength > 0 || accepted.destroyed) {
      return readByEvents(accepted, sink);
    }
    let lastTarget: Buffer | null = null;
    const scratch = this.scratch;
    const nextBuffer = (): Buffer => {
      lastTarget = sink.readTarget?.() ?? null;
      return lastTarget ?? scratch;
    };
    let adopted: ReadSwitch | null = null;
    const options: HandleSocketOptions = {
      handle,
      allowHalfOpen: accepted.allowHalfOpen,
      onread: {
        buffer: nextBuffer,
        callback: (nread: number, buf: Uint8Array): boolean => {
          // `buf` is what nextBuffer returned (Node passes the buffer it read into back): a Buffer.
          if (sink.receivedRange) sink.receivedRange(buf as Buffer, nread, buf === lastTarget);
          else sink.received(Buffer.from(buf.buffer, buf.byteOffset, nread), buf === lastTarget);
          // Returning false stops the handle: a pause that a stream-level resume undid stays a pause.
          return adopted === null || !adopted.paused;
        },
      },
    };
    const socket = new net.Socket(options);
    // The server counts its connections to know when close() is done: the count now follows the new socket.
    const fresh = internals(socket);
    fresh._server = old._server;
    fresh.server = old.server;
    old._server = null;
    old._handle = null;
    accepted.destroy();
    adopted = new ReadSwitch(socket, true);
    return adopted;
  }
}

class ReadSwitch implements PooledSocket {
  private stopped = false;

  constructor(
    readonly socket: net.Socket,
    readonly pooled: boolean,
  ) {}

  get paused(): boolean {
    return this.stopped;
  }

  pause(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.socket.resume();
  }
}

/**
 * Node's own reads, each chunk handed to the sink as if it were scratch memory: the fallback of
 * `adopt`, and the way to feed a sink from any socket (a client's, or one accepted unpaused).
 */
export function readByEvents(socket: net.Socket, sink: ReadSink): PooledSocket {
  socket.on('data', (chunk: Buffer) => sink.received(chunk, false));
  // A socket accepted paused stays paused when a 'data' listener is added.
  socket.resume();
  return new ReadSwitch(socket, false);
}
