import { ReadyLane } from './ready-lane.js';
import { keepShape } from './shapes.js';
import { EMPTY_BODY, isPersistent, QueueEntry, type Message, type QueuedMessage } from './message.js';
import type { DurableQueueStore, RecoveredMessage } from './durable-store.js';
import { fieldNumber, fieldString, type FieldTable } from './wire.js';
import { AmqpError } from './errors.js';
import { PRECONDITION_FAILED } from './generated/constants.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

/** What a queue needs from the channel that owns a consumer. */
export interface ConsumerChannel {
  canDeliver(c: Consumer): boolean;
  deliver(c: Consumer, e: QueuedMessage, q: Queue): void;
  /** The queue went away under the consumer (basic.cancel from the server). */
  consumerCancelled(c: Consumer): void;
}

export interface Consumer {
  readonly tag: string;
  readonly queue: Queue;
  readonly channel: ConsumerChannel;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  /** Per-consumer prefetch (0 = unlimited). */
  readonly prefetch: number;
  unacked: number;
  readonly priority: number;
  /** Owning connection, for exclusive-queue checks. */
  readonly owner: object;
  /** The tag as an encoded short string, for basic.deliver. */
  readonly tagBytes: Buffer;
}

export interface QueueDef {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
}

export interface QueueLimits {
  messageTtl?: number;
  expires?: number;
  maxLength?: number;
  maxLengthBytes?: number;
  overflow: Overflow;
  deadLetterExchange?: string;
  deadLetterRoutingKey?: string;
  maxPriority: number;
  singleActiveConsumer: boolean;
}

/** Field type names as RabbitMQ prints them in argument errors. */
const TYPE_NAMES: Record<string, string> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  L: 'unsignedlong',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  x: 'binary',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
};
const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l', 'L']);

function invalidArg(key: string, queue: string, vhost: string, detail: string): AmqpError {
  return new AmqpError(PRECONDITION_FAILED, `invalid arg '${key}' for queue '${queue}' in vhost '${vhost}': ${detail}`, 50, 10);
}

function nonNegativeInt(args: FieldTable, key: string, queue: string, vhost: string, min = 0): number | undefined {
  const raw = args.get(key);
  if (raw === undefined) return undefined;
  if (!INTEGER_TYPES.has(raw.type)) throw invalidArg(key, queue, vhost, `"expected integer, got ${TYPE_NAMES[raw.type]}"`);
  const n = fieldNumber(raw)!;
  if (n < 0) throw invalidArg(key, queue, vhost, `{value_negative,${n}}`);
  if (n < min) throw invalidArg(key, queue, vhost, `{value_zero,${n}}`);
  return n;
}

/** Validates `x-*` queue arguments the way RabbitMQ does (406 on a bad value). */
export function parseQueueLimits(args: FieldTable, queue: string, vhost: string): QueueLimits {
  const overflowRaw = args.get('x-overflow');
  let overflow: Overflow = 'drop-head';
  if (overflowRaw !== undefined) {
    const s = fieldString(overflowRaw);
    if (s !== 'drop-head' && s !== 'reject-publish' && s !== 'reject-publish-dlx') {
      throw invalidArg('x-overflow', queue, vhost, 'invalid_overflow');
    }
    overflow = s;
  }
  const maxPriority = nonNegativeInt(args, 'x-max-priority', queue, vhost) ?? 0;
  if (maxPriority > 255) {
    throw invalidArg('x-max-priority', queue, vhost, `{value_too_large,${maxPriority},255}`);
  }
  const sac = args.get('x-single-active-consumer');
  if (sac !== undefined && sac.type !== 't') {
    throw invalidArg('x-single-active-consumer', queue, vhost, `"expected bool, got ${TYPE_NAMES[sac.type]}"`);
  }
  const dlx = args.get('x-dead-letter-exchange');
  const dlrk = args.get('x-dead-letter-routing-key');
  return {
    messageTtl: nonNegativeInt(args, 'x-message-ttl', queue, vhost),
    expires: nonNegativeInt(args, 'x-expires', queue, vhost, 1),
    maxLength: nonNegativeInt(args, 'x-max-length', queue, vhost),
    maxLengthBytes: nonNegativeInt(args, 'x-max-length-bytes', queue, vhost),
    overflow,
    deadLetterExchange: dlx === undefined ? undefined : fieldString(dlx),
    deadLetterRoutingKey: dlrk === undefined ? undefined : fieldString(dlrk),
    maxPriority,
    singleActiveConsumer: sac?.type === 't' && sac.value,
  };
}

/** Per-message `expiration` in ms, or undefined; RabbitMQ refuses non-numeric values (406). */
export function parseExpiration(expiration: string | undefined): number | undefined {
  if (expiration === undefined) return undefined;
  if (!/^\d+$/.test(expiration)) {
    throw new AmqpError(PRECONDITION_FAILED, `invalid expiration '${expiration}'`, 60, 40);
  }
  return Number(expiration);
}

export interface QueueInfo {
  name: string;
  durable: boolean;
  messages: number;
  consumers: number;
  readyBytes: number;
  /** Bodies of ready persistent messages held in memory. */
  residentBytes: number;
  /** Ready messages whose body is only in the durable log. */
  pagedMessages: number;
}

export interface QueueHooks {
  deadLetter(q: Queue, e: QueuedMessage, reason: DeadLetterReason): void;
  /** x-expires ran out, or the last consumer of an auto-delete queue left. */
  expired(q: Queue): void;
}

/** `rejected` by overflow, `queued` in memory, or a promise that settles once the message is durable. */
export type EnqueueResult = 'queued' | 'rejected' | Promise<void>;

/** One queue's ready messages and consumers; the channels hold what is delivered but unacknowledged. */
export class Queue {
  readonly limits: QueueLimits;
  readonly consumers: Consumer[] = [];
  private readonly lanes: ReadyLane<QueuedMessage>[];
  private nextSeq = 0;
  private readyBytes = 0;
  private rr = 0;
  private dispatching = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Infinity;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Ever had a consumer: auto-delete only applies after the first one left. */
  private hadConsumer = false;
  deleted = false;
  /** Lifetime totals, cheap to bump on the hot path; the management API samples them into rates. */
  readonly counters = { published: 0, delivered: 0, acked: 0 };
  /** Set for durable queues: persistent messages go to the log. */
  store: DurableQueueStore | undefined;
  /** Bodies of ready persistent messages held in memory; above the budget they are paged out. */
  private residentBytes = 0;

  constructor(
    readonly def: QueueDef,
    readonly vhost: string,
    /** The connection that declared an exclusive queue. */
    readonly owner: object | null,
    private readonly hooks: QueueHooks,
    /** Ready persistent bodies a durable queue keeps in memory; the rest waits in its log. */
    private readonly residentBudget = Infinity,
  ) {
    this.limits = parseQueueLimits(def.args, def.name, vhost);
    this.lanes = Array.from({ length: this.limits.maxPriority + 1 }, () => new ReadyLane<QueuedMessage>());
    this.touch();
    keepShape(this);
  }

  get name(): string {
    return this.def.name;
  }

  // Indexed loops over the lanes here and below: these run per message, and for-of allocated an
  // iterator each time wherever V8 did not optimise it away.
  get messageCount(): number {
    let n = 0;
    for (let p = 0; p < this.lanes.length; p++) n += this.lanes[p]!.size;
    return n;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** Counts for the dashboard and tests. */
  info(): QueueInfo {
    let paged = 0;
    for (const l of this.lanes) paged += l.count((e) => e.paged);
    return { name: this.name, durable: this.def.durable, messages: this.messageCount, consumers: this.consumers.length, readyBytes: this.readyBytes, residentBytes: this.residentBytes, pagedMessages: paged };
  }

  private hasReady(): boolean {
    for (let p = 0; p < this.lanes.length; p++) if (this.lanes[p]!.size > 0) return true;
    return false;
  }

  /** Resets the x-expires clock (declare, get, consume). */
  touch(): void {
    if (this.limits.expires === undefined || this.deleted) return;
    clearTimeout(this.idleTimer);
    if (this.consumers.length > 0) return;
    this.idleTimer = setTimeout(() => {
      if (!this.deleted && this.consumers.length === 0) this.hooks.expired(this);
    }, this.limits.expires);
    this.idleTimer.unref();
  }

  /** `now` as in shift. */
  enqueue(msg: Message, now?: number): EnqueueResult {
    const ttl = minDefined(this.limits.messageTtl, parseExpiration(msg.props.expiration));
    const priority = Math.min(msg.props.priority ?? 0, this.limits.maxPriority);
    const expiresAt = ttl === undefined ? Infinity : (now ?? Date.now()) + ttl;
    if (this.wouldOverflow(msg.body.length)) {
      if (this.limits.overflow === 'reject-publish') return 'rejected';
      if (this.limits.overflow === 'reject-publish-dlx') {
        const size = msg.body.length;
        this.hooks.deadLetter(this, new QueueEntry(msg, -1, false, expiresAt, priority, -1, size, false), 'maxlen');
        return 'rejected';
      }
    }
    this.counters.published++;
    let result: EnqueueResult = 'queued';
    let offset = -1;
    if (this.store && isPersistent(msg)) {
      const appended = this.store.append(msg, expiresAt);
      offset = appended.offset;
      result = appended.durable;
    }
    const e: QueuedMessage = new QueueEntry(msg, this.nextSeq++, false, expiresAt, priority, offset, msg.body.length, false);
    this.pushReady(e);
    if (offset >= 0 && this.residentBytes > this.residentBudget && typeof result !== 'string') {
      // Only a body already in the log can be dropped from memory.
      result.then(
        () => this.pageOut(e),
        () => undefined,
      );
    }
    if (this.limits.overflow === 'drop-head') this.dropHeadWhileOver();
    this.dispatch(now);
    return result;
  }

  private pushReady(e: QueuedMessage): void {
    e.ready = true;
    this.lanes[e.priority]!.push(e);
    this.readyBytes += e.size;
    if (e.offset >= 0 && !e.paged) this.residentBytes += e.size;
  }

  private pageOut(e: QueuedMessage): void {
    if (!e.ready || e.paged || this.deleted || this.residentBytes <= this.residentBudget) return;
    e.msg = { ...e.msg, body: EMPTY_BODY };
    e.paged = true;
    this.residentBytes -= e.size;
  }

  /** Accounting for a message leaving the ready lanes; reads a paged-out body back from the log. */
  private leftLane(e: QueuedMessage): boolean {
    e.ready = false;
    this.readyBytes -= e.size;
    if (e.offset >= 0 && !e.paged) this.residentBytes -= e.size;
    if (!e.paged) return true;
    const msg = this.store?.readMessage(e.offset);
    if (!msg) {
      // Unreadable (logged by the store): the message is lost; do not let it block the queue.
      this.forget(e);
      return false;
    }
    e.msg = msg;
    e.paged = false;
    return true;
  }

  /** Puts messages recovered from the durable log back, marked redelivered since they may have been seen. */
  recover(messages: RecoveredMessage[]): void {
    for (const r of messages) {
      const priority = Math.min(r.msg.props.priority ?? 0, this.limits.maxPriority);
      this.pushReady(new QueueEntry(r.msg, this.nextSeq++, true, r.expiresAt, priority, r.offset, r.size, r.paged));
    }
  }

  /** The message has left the queue for good (acknowledged, dead-lettered, dropped). */
  forget(e: QueuedMessage): void {
    if (e.offset >= 0) this.store?.ack(e.offset);
  }

  private dead(e: QueuedMessage, reason: DeadLetterReason): void {
    this.forget(e);
    this.hooks.deadLetter(this, e, reason);
  }

  private wouldOverflow(extraBytes: number): boolean {
    const { maxLength, maxLengthBytes } = this.limits;
    if (maxLength !== undefined && this.messageCount + 1 > maxLength) return true;
    if (maxLengthBytes !== undefined && this.readyBytes + extraBytes > maxLengthBytes) return true;
    return false;
  }

  private dropHeadWhileOver(): void {
    const { maxLength, maxLengthBytes } = this.limits;
    while ((maxLength !== undefined && this.messageCount > maxLength) || (maxLengthBytes !== undefined && this.readyBytes > maxLengthBytes)) {
      const head = this.take();
      if (!head) break;
      this.dead(head, 'maxlen');
    }
  }

  /** Takes the next ready message regardless of expiry (priority first, then position). */
  private take(): QueuedMessage | undefined {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      const lane = this.lanes[p]!;
      for (let e = lane.shift(); e; e = lane.shift()) {
        if (this.leftLane(e)) return e;
      }
    }
    return undefined;
  }

  /** Next live message; expired ones met on the way are dead-lettered, as RabbitMQ expires at the head. */
  /** `now` (epoch ms) defaults to the clock, read only when the message has a TTL. */
  shift(now?: number): QueuedMessage | undefined {
    for (;;) {
      const e = this.take();
      if (!e) return undefined;
      if (e.expiresAt !== Infinity && e.expiresAt <= (now ?? Date.now())) {
        this.dead(e, 'expired');
        continue;
      }
      return e;
    }
  }

  requeue(entries: QueuedMessage[]): void {
    if (this.deleted) return;
    for (const e of entries) {
      e.redelivered = true;
      e.ready = true;
      this.lanes[e.priority]!.putBack(e);
      this.readyBytes += e.size;
      if (e.offset >= 0 && !e.paged) this.residentBytes += e.size;
    }
    if (this.limits.overflow === 'drop-head') this.dropHeadWhileOver();
    this.dispatch();
  }

  purge(): number {
    let n = 0;
    for (const l of this.lanes) {
      for (const e of l.clear()) {
        e.ready = false;
        this.forget(e);
        n++;
      }
    }
    this.readyBytes = 0;
    this.residentBytes = 0;
    return n;
  }

  addConsumer(c: Consumer): void {
    this.consumers.push(c);
    this.hadConsumer = true;
    clearTimeout(this.idleTimer);
    this.dispatch();
  }

  /** Returns true when an auto-delete queue lost its last consumer and should go. */
  removeConsumer(c: Consumer): boolean {
    const i = this.consumers.indexOf(c);
    if (i < 0) return false;
    this.consumers.splice(i, 1);
    if (this.rr > i) this.rr--;
    if (this.consumers.length === 0) this.touch();
    else this.dispatch();
    return this.def.autoDelete && this.hadConsumer && this.consumers.length === 0;
  }

  private pickConsumer(): Consumer | undefined {
    const cs = this.consumers;
    if (cs.length === 0) return undefined;
    if (this.limits.singleActiveConsumer) {
      const active = cs[0]!;
      return active.channel.canDeliver(active) ? active : undefined;
    }
    let best: Consumer | undefined;
    let bestIndex = -1;
    const n = cs.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const c = cs[i]!;
      if ((best === undefined || c.priority > best.priority) && c.channel.canDeliver(c)) {
        best = c;
        bestIndex = i;
      }
    }
    if (best) this.rr = (bestIndex + 1) % n;
    return best;
  }

  /** Hands ready messages to consumers with credit; re-entrant calls are folded into the running loop. */
  /** `now` as in shift: without TTLs, dispatching reads no clock (a runtime call per message). */
  dispatch(now?: number): void {
    if (this.dispatching || this.deleted) return;
    this.dispatching = true;
    try {
      // Check for a message before picking, so an empty queue does not advance the round-robin.
      while (this.consumers.length > 0 && this.hasReady()) {
        const c = this.pickConsumer();
        if (!c) break;
        const e = this.shift(now);
        if (!e) break;
        c.channel.deliver(c, e, this);
        this.counters.delivered++;
        if (c.noAck) this.forget(e);
      }
    } finally {
      this.dispatching = false;
    }
    this.scheduleExpiry(now);
  }

  /** Expires head messages when nobody takes them, so TTL and dead-lettering happen on time. */
  private scheduleExpiry(now: number | undefined): void {
    let next = Infinity;
    for (let p = 0; p < this.lanes.length; p++) {
      const h = this.lanes[p]!.peek();
      if (h && h.expiresAt < next) next = h.expiresAt;
    }
    if (next === Infinity) {
      if (this.expiryTimer) clearTimeout(this.expiryTimer);
      this.expiryTimer = undefined;
      this.expiryAt = Infinity;
      return;
    }
    if (this.expiryTimer && this.expiryAt <= next) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryAt = next;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = Infinity;
      this.expireHeads();
    }, Math.max(0, next - (now ?? Date.now())));
    this.expiryTimer.unref();
  }

  expireHeads(now = Date.now()): void {
    if (this.deleted) return;
    for (const l of this.lanes) {
      for (let h = l.peek(); h && h.expiresAt <= now; h = l.peek()) {
        l.shift();
        if (this.leftLane(h)) this.dead(h, 'expired');
      }
    }
    this.dispatch(now);
  }

  /** Marks the queue gone, cancels its consumers and returns how many ready messages it held. */
  destroy(): number {
    const n = this.messageCount;
    this.deleted = true;
    clearTimeout(this.expiryTimer);
    clearTimeout(this.idleTimer);
    for (const l of this.lanes) for (const e of l.clear()) e.ready = false;
    this.readyBytes = 0;
    this.residentBytes = 0;
    for (const c of this.consumers.splice(0)) c.channel.consumerCancelled(c);
    return n;
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
