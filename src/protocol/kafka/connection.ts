import type net from 'node:net';
import type { Logger } from '../../logger.js';
import type { ConnectionInfo } from './handler.js';
import { FrameReader, FrameSizeError, type FrameBufferPool } from './frame-reader.js';
import { LeasedSlab, type BlockPool, type Slab } from '../../log/slab.js';
import { readByEvents, type PooledReads, type PooledSocket } from '../../net/pooled-reads.js';

/** A response frame as chunks to write back to back (size prefix included), or null for "no response". */
export type ResponseFrame = Buffer[] | null;

/**
 * Turns one request frame into its response. Runs synchronously up to the handler call so that a
 * malformed frame is refused before the next one is looked at; throwing closes the connection.
 */
export interface FrameProcessor {
  /**
   * `loaned`: the frame's buffer is reused once the returned promise (or value) settles, so the request
   * must not be referred to after that; a handler that has work in flight must return a promise that
   * settles only once that work is done with the frame. `lease`: memory for the response's bytes
   * (Fetch's file reads), recycled once the socket has written the response.
   */
  process(frame: Buffer, loaned?: boolean, lease?: LeasedSlab): ResponseFrame | Promise<ResponseFrame>;
}

/** Makes the request pipeline of one new connection. */
export type ProcessorFactory = (conn: ConnectionInfo) => FrameProcessor;

/** A request that cannot be answered: the connection is closed, as Kafka brokers do. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface ConnectionLimits {
  maxFrameBytes: number;
  /** Requests decoded but not yet answered; reading stops at this many. */
  maxInFlight: number;
  /** Response bytes queued in the socket; reading stops above this. */
  maxQueuedBytes: number;
}

/** Memory shared by the connections of one server. */
export interface ConnectionResources {
  /** Buffers for large Produce frames. */
  framePool?: FrameBufferPool;
  /** Where other frames are copied to. */
  smallFrames?: Slab;
  /** Blocks Fetch responses read files into. */
  readPool?: BlockPool;
  /** Socket reads into a shared buffer (the socket must come from a server with `pauseOnConnect`). */
  reads?: PooledReads;
}

interface Slot {
  ready: boolean;
  frame: ResponseFrame;
  lease: LeasedSlab | null;
}

/**
 * One client connection: framing, pipelining (many requests in flight, answers strictly in request
 * order) and back-pressure (the socket is paused while too much is in flight or queued to write).
 */
export class KafkaConnection {
  readonly info: ConnectionInfo;
  private readonly gone = new AbortController();
  private readonly reader: FrameReader;
  private readonly processor: FrameProcessor;
  readonly socket: net.Socket;
  private readonly reading: PooledSocket;
  private readonly readPool: BlockPool | null;
  private slots: Slot[] = [];
  private slotHead = 0;
  private closed = false;
  /** A flush is queued as a microtask (see scheduleFlush). */
  private flushQueued = false;

  /** `accepted` is replaced by an adopted socket when `resources.reads` is given: use `socket` afterwards. */
  constructor(
    accepted: net.Socket,
    id: number,
    createProcessor: ProcessorFactory,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    resources: ConnectionResources = {},
  ) {
    this.info = {
      id,
      remoteAddress: accepted.remoteAddress ?? '',
      remotePort: accepted.remotePort ?? 0,
      localAddress: accepted.localAddress ?? '',
      localPort: accepted.localPort ?? 0,
      closed: this.gone.signal,
    };
    this.readPool = resources.readPool ?? null;
    const reader = new FrameReader(limits.maxFrameBytes, resources.framePool ?? null, resources.smallFrames);
    this.reader = reader;
    this.processor = createProcessor(this.info);
    const sink = {
      readTarget: () => reader.readTarget(),
      received: (bytes: Buffer, inTarget: boolean) => {
        reader.received(bytes, inTarget);
        this.pump();
      },
    };
    this.reading = resources.reads ? resources.reads.adopt(accepted, sink) : readByEvents(accepted, sink);
    this.socket = this.reading.socket;
    this.socket.on('drain', () => this.pump());
    // Resets and half-closed peers are normal for clients; 'close' follows either way.
    this.socket.on('error', (err) => this.logger.debug('connection error', { conn: id, err }));
    this.socket.on('close', () => {
      this.closed = true;
      this.gone.abort();
    });
  }

  get inFlight(): number {
    return this.slots.length - this.slotHead;
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Bad client input is a warning; anything else thrown while serving a request is our bug, an error. */
  private fail(err: unknown): void {
    if (this.closed) return;
    const fields = { conn: this.info.id, remote: `${this.info.remoteAddress}:${this.info.remotePort}` };
    if (err instanceof ProtocolError || err instanceof FrameSizeError) {
      this.logger.warn(`closing connection: ${err.message}`, fields);
    } else {
      this.logger.error('closing connection: request failed', { ...fields, err });
    }
    this.destroy();
  }

  private blocked(): boolean {
    return this.inFlight >= this.limits.maxInFlight || this.socket.writableLength > this.limits.maxQueuedBytes;
  }

  /** Handles every complete buffered frame the limits allow, then pauses or resumes the socket. */
  private pump(): void {
    while (!this.closed && !this.blocked()) {
      let frame: Buffer | null;
      try {
        frame = this.reader.next();
      } catch (err) {
        if (err instanceof FrameSizeError) return this.fail(err);
        throw err;
      }
      if (frame === null) break;
      this.handleFrame(frame, this.reader.lastLoaned);
    }
    if (this.closed) return;
    if (this.blocked()) this.reading.pause();
    else this.reading.resume();
  }

  private handleFrame(frame: Buffer, loaned: boolean): void {
    let result: ResponseFrame | Promise<ResponseFrame>;
    const lease = this.readPool ? new LeasedSlab(this.readPool) : null;
    try {
      result = this.processor.process(frame, loaned, lease ?? undefined);
    } catch (err) {
      // A request that failed half-way may still be referenced: the loan is not returned.
      return this.fail(err);
    }
    if (!(result instanceof Promise)) {
      if (loaned) this.reader.release(frame);
      this.slots.push({ ready: true, frame: result, lease });
      // Written at once: the socket's queued bytes are what stops this pump loop (blocked()).
      this.flush();
      return;
    }
    const slot: Slot = { ready: false, frame: null, lease };
    this.slots.push(slot);
    result.then(
      (response) => {
        if (loaned) this.reader.release(frame);
        slot.ready = true;
        slot.frame = response;
        this.scheduleFlush();
      },
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Writes the answered responses once the current wave of promise reactions is over: a group commit
   * settles the appends of several Produce requests at once, and their answers then leave in one
   * writev instead of one write each. On loopback each socket write also runs the receiver's side of
   * TCP and wakes it, so with kcat's ~1 MB requests one write per response was ~6 % of produce CPU.
   * Pumping follows, since the answered requests no longer count against maxInFlight.
   */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushAndPump);
  }

  private readonly flushAndPump = (): void => {
    this.flushQueued = false;
    this.flush();
    this.pump();
  };

  /** Writes every answered response at the head of the queue; one corked batch becomes one writev. */
  private flush(): void {
    if (this.closed) return;
    let corked = false;
    while (this.slotHead < this.slots.length && this.slots[this.slotHead]!.ready) {
      const slot = this.slots[this.slotHead++]!;
      const lease = slot.lease !== null && slot.lease.blockCount > 0 ? slot.lease : null;
      if (slot.frame === null || slot.frame.length === 0) {
        lease?.release();
        continue;
      }
      if (!corked) {
        this.socket.cork();
        corked = true;
      }
      const last = slot.frame.length - 1;
      for (let i = 0; i < last; i++) this.socket.write(slot.frame[i]!);
      // The callback runs once the kernel has the bytes (or the socket is gone): the lease's memory is free then.
      if (lease) this.socket.write(slot.frame[last]!, () => lease.release());
      else this.socket.write(slot.frame[last]!);
    }
    if (corked) this.socket.uncork();
    if (this.slotHead === this.slots.length) {
      this.slots = [];
      this.slotHead = 0;
    } else if (this.slotHead >= 1024) {
      this.slots = this.slots.slice(this.slotHead);
      this.slotHead = 0;
    }
  }
}
