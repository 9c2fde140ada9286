import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openPartitionLog, encodeRecordBatch, decodeRecordBatches, type StandalonePartitionLog } from '../../log/index.js';
import type { FsyncPolicy } from '../../config.js';
import type { Logger } from '../../logger.js';
import { EMPTY_BODY, type Message } from './message.js';
import { Reader, Writer } from './wire.js';
import { decodeBasicProperties } from './generated/properties.js';

export interface DurableStoreOptions {
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  logger: Logger;
  /** Recovered bodies kept in memory; later ones stay in the log until taken (default: all). */
  residentBudgetBytes?: number;
  /** Segment size of the message log; small values let tests watch segments go. */
  segmentBytes?: number;
}

export interface RecoveredMessage {
  offset: number;
  /** Without its body when `paged`. */
  msg: Message;
  expiresAt: number;
  size: number;
  paged: boolean;
}

/** Checkpoint records carry this key; plain ack records have none. */
const CHECKPOINT_KEY = Buffer.from('checkpoint');
/** Rewrite the ack log as one checkpoint after this many ack records. */
const CHECKPOINT_EVERY = 2000;
const READ_CHUNK = 4 * 1024 * 1024;
const BATCH_BYTES = 512 * 1024;
const READ_AHEAD = 1024 * 1024;

/** Publishers outside confirm mode never look at the promise; its failure is logged here instead. */
function handled(p: Promise<void>): Promise<void> {
  p.catch(() => undefined);
  return p;
}

function encodeMessage(msg: Message, expiresAt: number): Buffer {
  const w = new Writer(64 + msg.rawProps.length + msg.body.length);
  w.u8(1);
  w.shortstr(msg.exchange);
  w.shortstr(msg.routingKey);
  w.u64(Number.isFinite(expiresAt) ? expiresAt : 0);
  w.longstr(msg.rawProps);
  w.bytes(msg.body);
  return w.take();
}

function decodeMessage(b: Buffer): { msg: Message; expiresAt: number } {
  const r = new Reader(b);
  r.u8();
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const exp = r.u64();
  const rawProps = r.longstr();
  const body = Buffer.from(b.subarray(r.pos));
  const props = decodeBasicProperties(new Reader(rawProps));
  return { msg: { exchange, routingKey, props, rawProps, body }, expiresAt: exp === 0 ? Infinity : exp };
}

function encodeOffsets(offsets: Iterable<number>, first?: number): Buffer {
  const list = [...offsets];
  const w = new Writer(8 * (list.length + 1));
  if (first !== undefined) w.u64(first);
  for (const o of list) w.u64(o);
  return w.take();
}

function decodeOffsets(b: Buffer): number[] {
  const r = new Reader(b);
  const out: number[] = [];
  while (r.remaining() >= 8) out.push(r.u64());
  return out;
}

async function readAll(log: StandalonePartitionLog, from: number, each: (offset: number, key: Buffer | null, value: Buffer | null) => void): Promise<void> {
  let offset = Math.max(from, log.logStartOffset);
  while (offset < log.logEndOffset) {
    const res = log.read(offset, READ_CHUNK);
    if (res.bytes === 0) break;
    const batches = decodeRecordBatches(res.chunks.length === 1 ? res.chunks[0]! : Buffer.concat(res.chunks));
    if (batches.length === 0) break;
    for (const b of batches) {
      for (const rec of b.records) if (rec.offset >= offset) each(rec.offset, rec.key, rec.value);
      offset = Math.max(offset, b.lastOffset + 1);
    }
  }
}

/**
 * Persistent messages of one durable queue: a message log (one record per message, appended in
 * per-tick batches) and an acknowledgement log. Whole message segments are deleted once every
 * message in them has been acknowledged.
 */
export class DurableQueueStore {
  private nextOffset: number;
  private pendingMessages: Buffer[] = [];
  private pendingResolvers: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private pendingAcks: number[] = [];
  private flushScheduled = false;
  /** Offsets appended and not yet acknowledged, in order; `done` marks acknowledged ones inside it. */
  private live: number[] = [];
  private liveHead = 0;
  private readonly done = new Set<number>();
  private ackRecordsSinceCheckpoint = 0;
  private compactTimer: NodeJS.Timeout | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readCache: Map<number, Buffer> | undefined;
  private broken: Error | undefined;

  private constructor(
    readonly dir: string,
    private readonly messages: StandalonePartitionLog,
    private readonly acks: StandalonePartitionLog,
    private readonly logger: Logger,
  ) {
    this.nextOffset = messages.logEndOffset;
  }

  static async open(dir: string, opts: DurableStoreOptions): Promise<{ store: DurableQueueStore; recovered: RecoveredMessage[] }> {
    const common = { fsync: opts.fsync, fsyncIntervalMs: opts.fsyncIntervalMs, logger: opts.logger, retentionCheckIntervalMs: 24 * 3600 * 1000 };
    const messages = await openPartitionLog(
      join(dir, 'messages'),
      // A single AMQP message may be far larger than Kafka's 1 MB default; the frame and body limits apply instead.
      { 'retention.ms': '-1', 'segment.bytes': String(opts.segmentBytes ?? 64 * 1024 * 1024), 'max.message.bytes': String(0x7fffffff) },
      { ...common, topic: 'amqp-messages' },
    );
    const acks = await openPartitionLog(join(dir, 'acks'), { 'retention.ms': '-1', 'segment.bytes': String(8 * 1024 * 1024) }, { ...common, topic: 'amqp-acks' });
    const store = new DurableQueueStore(dir, messages, acks, opts.logger);
    let low = 0;
    const acked = new Set<number>();
    await readAll(acks, 0, (_o, key, value) => {
      if (!value) return;
      const offsets = decodeOffsets(value);
      if (key && key.equals(CHECKPOINT_KEY)) {
        low = offsets[0] ?? 0;
        acked.clear();
        for (let i = 1; i < offsets.length; i++) acked.add(offsets[i]!);
      } else {
        for (const o of offsets) acked.add(o);
      }
    });
    const recovered: RecoveredMessage[] = [];
    const budget = opts.residentBudgetBytes ?? Infinity;
    let resident = 0;
    await readAll(messages, low, (offset, _key, value) => {
      if (offset < low) return;
      // Acknowledged offsets stay in `live` as done, so the watermark passes them in order.
      store.live.push(offset);
      if (!value || acked.has(offset)) {
        store.done.add(offset);
        return;
      }
      const { msg, expiresAt } = decodeMessage(value);
      const size = msg.body.length;
      if (resident + size > budget) {
        recovered.push({ offset, msg: { ...msg, body: EMPTY_BODY }, expiresAt, size, paged: true });
      } else {
        resident += size;
        recovered.push({ offset, msg, expiresAt, size, paged: false });
      }
    });
    store.advanceLow();
    // Start from a clean ack log: one checkpoint of what recovery found.
    store.checkpoint();
    store.scheduleCompaction();
    return { store, recovered };
  }

  /**
   * Reads a paged-out message back. Consumers take messages in log order, so the batch read for one
   * is kept for the next ones.
   */
  readMessage(offset: number): Message | undefined {
    try {
      let value = this.readCache?.get(offset);
      if (value === undefined) {
        const res = this.messages.read(offset, READ_AHEAD);
        const cache = new Map<number, Buffer>();
        for (const b of decodeRecordBatches(res.chunks.length === 1 ? res.chunks[0]! : Buffer.concat(res.chunks))) {
          for (const r of b.records) if (r.value) cache.set(r.offset, r.value);
        }
        this.readCache = cache;
        value = cache.get(offset);
      }
      if (value === undefined) throw new Error(`offset ${offset} not found in the message log`);
      return decodeMessage(value).msg;
    } catch (err) {
      this.logger.error('could not read a paged-out message back', { dir: this.dir, offset, err });
      return undefined;
    }
  }

  /** Offset the message will have; `durable` resolves once it is written under the fsync policy. */
  append(msg: Message, expiresAt: number): { offset: number; durable: Promise<void> } {
    if (this.closed || this.broken) return { offset: -1, durable: handled(Promise.reject(this.broken ?? new Error('queue store closed'))) };
    const offset = this.nextOffset++;
    this.live.push(offset);
    this.pendingMessages.push(encodeMessage(msg, expiresAt));
    const durable = handled(new Promise<void>((resolve, reject) => this.pendingResolvers.push({ resolve, reject })));
    this.scheduleFlush();
    return { offset, durable };
  }

  ack(offset: number): void {
    if (offset < 0 || this.closed) return;
    this.done.add(offset);
    this.pendingAcks.push(offset);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One batch per queue per event-loop turn: the log group-commits them into one write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    try {
      this.flushNow();
    } catch (err) {
      // Runs from a timer: an error must fail the waiting confirms, never the process.
      this.logger.error('durable queue flush failed', { dir: this.dir, err });
      this.broken = err as Error;
      for (const w of this.pendingResolvers.splice(0)) w.reject(err as Error);
      this.pendingMessages = [];
    }
  }

  private flushNow(): void {
    if (this.pendingMessages.length > 0) {
      const values = this.pendingMessages;
      const waiters = this.pendingResolvers;
      this.pendingMessages = [];
      this.pendingResolvers = [];
      // Batches of about BATCH_BYTES keep reads during recovery and segment rolls fine-grained.
      const batches: Buffer[] = [];
      let start = 0;
      let bytes = 0;
      for (let i = 0; i < values.length; i++) {
        bytes += values[i]!.length;
        if (bytes >= BATCH_BYTES || i === values.length - 1) {
          batches.push(encodeRecordBatch({ records: values.slice(start, i + 1).map((value) => ({ value })) }));
          start = i + 1;
          bytes = 0;
        }
      }
      // An async function turns a synchronous throw of append() into a rejection the waiters see.
      const appendAll = async () => Promise.all(batches.map((b) => this.messages.append(b)));
      const p = appendAll().then(
        () => waiters.forEach((w) => w.resolve()),
        (err: Error) => {
          // Offsets are predicted at publish time; after a failed write they no longer line up with the
          // log, so the store refuses further writes (their publishers get nacks) until a restart.
          this.broken = err;
          this.logger.error('durable queue append failed; queue is memory-only until restart', { dir: this.dir, err });
          waiters.forEach((w) => w.reject(err));
        },
      );
      this.track(p);
    }
    if (this.pendingAcks.length > 0) {
      const acked = this.pendingAcks;
      this.pendingAcks = [];
      this.track(this.acks.append(encodeRecordBatch({ records: [{ value: encodeOffsets(acked) }] })));
      this.ackRecordsSinceCheckpoint++;
      this.advanceLow();
      if (this.ackRecordsSinceCheckpoint >= CHECKPOINT_EVERY) this.checkpoint();
    }
  }

  private track(p: Promise<unknown>): void {
    const settled = p.catch((err: Error) => this.logger.error('durable queue write failed', { dir: this.dir, err }));
    this.writes = Promise.all([this.writes, settled]);
  }

  private get low(): number {
    return this.liveHead < this.live.length ? this.live[this.liveHead]! : this.nextOffset;
  }

  private advanceLow(): void {
    const before = this.low;
    while (this.liveHead < this.live.length && this.done.has(this.live[this.liveHead]!)) {
      this.done.delete(this.live[this.liveHead]!);
      this.liveHead++;
    }
    if (this.liveHead > 4096 && this.liveHead * 2 > this.live.length) {
      this.live = this.live.slice(this.liveHead);
      this.liveHead = 0;
    }
    if (this.low !== before) this.scheduleCompaction();
  }

  /** One record holding the low watermark and the acknowledged offsets above it; older ack records go. */
  private checkpoint(): void {
    this.ackRecordsSinceCheckpoint = 0;
    const at = this.acks.logEndOffset;
    const p = this.acks.append(encodeRecordBatch({ records: [{ key: CHECKPOINT_KEY, value: encodeOffsets(this.done, this.low) }] })).then(() => {
      if (!this.closed && at > this.acks.logStartOffset) this.acks.deleteRecordsBefore(at);
    });
    // track() logs a failure; the previous ack records stay and recovery still reads them.
    this.track(p);
  }

  private scheduleCompaction(): void {
    if (this.compactTimer || this.closed) return;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = undefined;
      this.compact();
    }, 100);
    this.compactTimer.unref();
  }

  /** Frees message segments below the lowest unacknowledged offset. */
  private compact(): void {
    if (this.closed) return;
    const target = Math.min(this.low, this.messages.logEndOffset);
    try {
      if (target > this.messages.logStartOffset) this.messages.deleteRecordsBefore(target);
    } catch (err) {
      this.logger.warn('could not free acknowledged message segments', { dir: this.dir, err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushScheduled) this.flush();
    this.closed = true;
    clearTimeout(this.compactTimer);
    await this.writes;
    await Promise.all([this.messages.close(), this.acks.close()]);
  }

  async destroy(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
