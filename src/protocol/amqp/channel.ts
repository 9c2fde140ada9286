import { randomBytes } from 'node:crypto';
import { AmqpError } from './errors.js';
import {
  ACCESS_REFUSED,
  CHANNEL_ERROR,
  COMMAND_INVALID,
  NOT_ALLOWED,
  NOT_FOUND,
  NOT_IMPLEMENTED,
  NO_ROUTE,
  PRECONDITION_FAILED,
  SYNTAX_ERROR,
  UNEXPECTED_FRAME,
} from './generated/constants.js';
import { METHOD_IDS, type Method } from './generated/methods.js';
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from './generated/properties.js';
import { WireSyntaxError, Writer, fieldNumber, type FieldTable } from './wire.js';
import { parseExpiration, type Consumer, type ConsumerChannel, type Queue } from './queue.js';
import { EMPTY_BODY, encodeNames, PublishedMessage, wireNames, type Message, type QueuedMessage } from './message.js';
import { keepShape } from './shapes.js';
import { UnackedWindow } from './unacked.js';
import type { Connection } from './connection.js';
import type { VirtualHost } from './vhost.js';
import type { ReplyTarget } from './server.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';
/** Routing keys of direct replies start with this (one string, not a concatenation per publish). */
const REPLY_TO_PREFIX = REPLY_TO + '.';
/** RabbitMQ's default `max_message_size` (128 MiB): bodies are held whole in memory. */
const MAX_MESSAGE_SIZE = 128 * 1024 * 1024;
/**
 * Bodies up to this size get their buffer when the content header announces them, and body frames
 * are copied straight into it. Larger ones are gathered frame by frame, so a header announcing a
 * huge body that never comes does not reserve the memory.
 */
const PREALLOCATE_BODY = 1024 * 1024;

export interface ChannelStats {
  id: number;
  /** basic.qos per consumer (0 = unlimited). */
  prefetch: number;
  globalPrefetch: number;
  unacked: number;
  consumers: number;
  confirm: boolean;
  transactional: boolean;
}

interface Unacked {
  readonly entry: QueuedMessage;
  readonly queue: Queue;
  readonly consumer: Consumer | undefined;
}

/** The publish whose content is arriving; one per channel, reused for every message. */
class PendingContent {
  active = false;
  exchange = '';
  routingKey = '';
  mandatory = false;
  /** Exchange and routing key as basic.deliver encodes them. */
  names: Buffer = EMPTY_BODY;
  props: BasicProperties | undefined;
  rawProps: Buffer | undefined;
  bodySize = 0;
  received = 0;
  /** The whole body, allocated on the header (up to PREALLOCATE_BODY)... */
  body: Buffer | undefined;
  /** ...or copies of its frames, for larger bodies. */
  chunks: Buffer[] | undefined;

  start(exchange: string, routingKey: string, mandatory: boolean, names: Buffer): void {
    this.active = true;
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.mandatory = mandatory;
    this.names = names;
    this.props = undefined;
    this.rawProps = undefined;
    this.bodySize = 0;
    this.received = 0;
    this.body = undefined;
    this.chunks = undefined;
  }

  /** Forgets the message (its buffers go with it). */
  clear(): void {
    this.active = false;
    this.props = undefined;
    this.rawProps = undefined;
    this.body = undefined;
    this.chunks = undefined;
  }
}

/**
 * Where the mandatory/immediate bits of basic.publish arguments at `buf[pos, end)` are (after the
 * ticket, exchange and routing key), or -1 when the arguments are truncated.
 */
export function publishBitsAt(buf: Buffer, pos: number, end: number): number {
  const exAt = pos + 2;
  if (exAt >= end) return -1;
  const rkAt = exAt + 1 + buf[exAt]!;
  if (rkAt >= end) return -1;
  const bitsAt = rkAt + 1 + buf[rkAt]!;
  return bitsAt < end ? bitsAt : -1;
}

/** `a` equals `buf[start, end)`: a byte loop, as the ranges compared are a few dozen bytes. */
function sameBytes(a: Buffer, buf: Buffer, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

function ids(m: Method): [number, number] {
  const id = METHOD_IDS[m.kind];
  return [id >>> 16, id & 0xffff];
}

/** One AMQP channel: publishing, consuming, acknowledgements, confirms and transactions. */
export class Channel implements ConsumerChannel, ReplyTarget {
  private closing = false;
  private readonly pending = new PendingContent();
  private readonly consumers = new Map<string, Consumer>();
  /** Delivered messages awaiting an ack, in tag order (which multiple-acks rely on). */
  private readonly unacked = new UnackedWindow();
  private deliveryTag = 0;
  private prefetchCount = 0;
  private globalPrefetch = 0;
  private flowActive = true;
  private confirm = false;
  private publishSeq = 0;
  /** Highest sequence number whose routing finished (durable writes may still be pending below it). */
  private routedUpTo = 0;
  private confirmSentUpTo = 0;
  /** Sequence numbers waiting for a durable write, ascending; `durableDone` marks finished ones. */
  private durablePending: number[] = [];
  private readonly durableDone = new Set<number>();
  private readonly nacks = new Set<number>();
  private tx: Array<() => void> | undefined;
  private replyToken: string | undefined;
  /** Last content header's properties (copied bytes and decoded form), shared by messages that repeat them. */
  private lastProps: { raw: Buffer; props: BasicProperties } | undefined;
  /**
   * Last basic.publish's exchange and routing key, as strings and as the bytes they arrived in
   * (which are also how basic.deliver encodes them): publishers mostly repeat them, and
   * decoding and re-encoding them per message was a large share of the broker's garbage.
   */
  private lastNames: Buffer = EMPTY_BODY;
  private lastExchange = '';
  private lastRoutingKey = '';
  /** Queues an acknowledgement freed credit on, dispatched once the whole ack is processed. */
  private ackedQueue: Queue | undefined;
  private ackedMore: Set<Queue> | undefined;
  private readonly onAcked = (entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined): void => {
    queue.forget(entry);
    queue.counters.acked++;
    if (consumer) consumer.unacked--;
    if (this.ackedQueue === undefined) this.ackedQueue = queue;
    else if (this.ackedQueue !== queue) (this.ackedMore ??= new Set()).add(queue);
  };

  constructor(
    readonly id: number,
    private readonly conn: Connection,
  ) {
    keepShape(this);
  }

  private get vhost(): VirtualHost {
    return this.conn.vhost!;
  }

  /** Returns a promise when the method needs I/O first (a new durable queue); the connection waits for it. */
  onMethod(m: Method): void | Promise<void> {
    if (this.closing) {
      if (m.kind === 'channel.close-ok') this.conn.channelClosed(this.id);
      else if (m.kind === 'channel.close') this.conn.sendMethod(this.id, { kind: 'channel.close-ok' });
      return;
    }
    if (this.pending.active) throw new AmqpError(UNEXPECTED_FRAME, `expected content header for class 60, got non content header frame instead`, ...ids(m));
    try {
      const r = this.handle(m);
      if (r) return r.catch((err: unknown) => this.softFail(err));
    } catch (err) {
      this.softFail(err);
    }
  }

  /** Soft errors close this channel; anything else goes up to close the connection. */
  private softFail(err: unknown): void {
    if (err instanceof AmqpError && !err.hard) this.closeWithError(err);
    else throw err;
  }

  /**
   * basic.publish, decoded here rather than into a method object: it is the one method that comes
   * once per message. `buf[pos, end)` holds its arguments (after class and method id).
   */
  onPublish(buf: Buffer, pos: number, bitsAt: number): void {
    if (this.closing) return;
    if (this.pending.active) throw new AmqpError(UNEXPECTED_FRAME, `expected content header for class 60, got non content header frame instead`, 60, 40);
    const namesAt = pos + 2;
    const bits = buf[bitsAt]!;
    if (!sameBytes(this.lastNames, buf, namesAt, bitsAt)) {
      const exEnd = namesAt + 1 + buf[namesAt]!;
      this.lastExchange = buf.toString('utf8', namesAt + 1, exEnd);
      this.lastRoutingKey = buf.toString('utf8', exEnd + 1, bitsAt);
      this.lastNames = Buffer.from(buf.subarray(namesAt, bitsAt));
    }
    try {
      this.startPublish(this.lastExchange, this.lastRoutingKey, (bits & 1) !== 0, this.lastNames);
    } catch (err) {
      this.softFail(err);
    }
  }

  /** basic.ack, decoded by the connection (it comes once per message, or per batch of them). */
  onAck(tag: number, multiple: boolean): void {
    if (this.closing) return;
    if (this.pending.active) throw new AmqpError(UNEXPECTED_FRAME, `expected content header for class 60, got non content header frame instead`, 60, 80);
    try {
      this.settleAck(tag, multiple);
    } catch (err) {
      this.softFail(err);
    }
  }

  private settleAck(tag: number, multiple: boolean): void {
    if (this.tx) this.inTx(() => this.ack(tag, multiple), tag, multiple);
    else this.ack(tag, multiple);
  }

  onContentHeader(buf: Buffer, start: number, end: number): void {
    if (this.closing) return;
    const p = this.pending;
    if (!p.active || p.rawProps !== undefined) throw new AmqpError(UNEXPECTED_FRAME, `expected method frame, got non method frame instead`);
    try {
      const r = this.conn.reader.reset(buf, start, end);
      const classId = r.u16();
      r.u16();
      const bodySize = r.u64();
      if (classId !== 60) throw new AmqpError(UNEXPECTED_FRAME, `content header for class ${classId}, expected 60`);
      const propsAt = r.pos;
      // Publishers mostly repeat the same properties: reuse the previous decode and its copy.
      const last = this.lastProps;
      if (last && sameBytes(last.raw, buf, propsAt, end)) {
        p.props = last.props;
        p.rawProps = last.raw;
      } else {
        p.props = decodeBasicProperties(r);
        p.rawProps = Buffer.from(buf.subarray(propsAt, r.pos));
        this.lastProps = { raw: p.rawProps, props: p.props };
      }
      p.bodySize = bodySize;
    } catch (err) {
      if (err instanceof WireSyntaxError) throw new AmqpError(SYNTAX_ERROR, err.message);
      throw err;
    }
    if (p.bodySize > MAX_MESSAGE_SIZE) {
      p.clear();
      this.closeWithError(new AmqpError(PRECONDITION_FAILED, `message size ${p.bodySize} is larger than configured max size ${MAX_MESSAGE_SIZE}`, 60, 40));
      return;
    }
    if (p.bodySize === 0) {
      p.body = EMPTY_BODY;
      this.completeContent();
    } else if (p.bodySize <= PREALLOCATE_BODY) p.body = Buffer.allocUnsafe(p.bodySize);
    else p.chunks = [];
  }

  onContentBody(buf: Buffer, start: number, end: number): void {
    if (this.closing) return;
    const p = this.pending;
    if (!p.active || p.rawProps === undefined) throw new AmqpError(UNEXPECTED_FRAME, `expected content header for class 60, got non content header frame instead`);
    const n = end - start;
    if (p.received + n > p.bodySize) throw new AmqpError(UNEXPECTED_FRAME, `content body larger than announced: ${p.received + n} > ${p.bodySize}`);
    // The frame is a range of a reused read buffer: copy it now.
    if (p.body) buf.copy(p.body, p.received, start, end);
    else p.chunks!.push(Buffer.from(buf.subarray(start, end)));
    p.received += n;
    if (p.received === p.bodySize) this.completeContent();
  }

  private completeContent(): void {
    const p = this.pending;
    const body = p.body ?? Buffer.concat(p.chunks!, p.received);
    const msg: Message = new PublishedMessage(p.exchange, p.routingKey, p.props!, p.rawProps!, body, p.names);
    const mandatory = p.mandatory;
    p.clear();
    try {
      this.publish(msg, mandatory);
    } catch (err) {
      if (err instanceof AmqpError && !err.hard) this.closeWithError(err);
      else throw err;
    }
  }

  private send(m: Method): void {
    this.conn.sendMethod(this.id, m);
  }

  private handle(m: Method): void | Promise<void> {
    const vh = this.vhost;
    const owner = this.conn;
    switch (m.kind) {
      case 'channel.open':
        throw new AmqpError(CHANNEL_ERROR, `second 'channel.open' seen`, 20, 10);
      case 'channel.close':
        this.release();
        this.send({ kind: 'channel.close-ok' });
        this.conn.channelClosed(this.id);
        return;
      case 'channel.close-ok':
        return;
      case 'channel.flow':
        this.flowActive = m.active;
        this.send({ kind: 'channel.flow-ok', active: m.active });
        if (m.active) this.resume();
        return;
      case 'channel.flow-ok':
        return;
      case 'access.request':
        this.send({ kind: 'access.request-ok', ticket: 1 });
        return;
      case 'exchange.declare': {
        if (m.exchange === '') throw new AmqpError(ACCESS_REFUSED, `operation not permitted on the default exchange`, 40, 10);
        const declared = vh.declareExchange({ name: m.exchange, type: m.type, passive: m.passive, durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, args: m.arguments });
        const reply = () => {
          if (!m.nowait && !this.closing) this.send({ kind: 'exchange.declare-ok' });
        };
        if (declared instanceof Promise) return declared.then(reply);
        reply();
        return;
      }
      case 'exchange.delete':
        vh.deleteExchange(m.exchange, m.ifUnused);
        if (!m.nowait) this.send({ kind: 'exchange.delete-ok' });
        return;
      case 'exchange.bind':
        vh.bind(m.source, 'exchange', m.destination, m.routingKey, m.arguments, owner, 40, 30);
        if (!m.nowait) this.send({ kind: 'exchange.bind-ok' });
        return;
      case 'exchange.unbind':
        vh.unbind(m.source, 'exchange', m.destination, m.routingKey, m.arguments, owner, 40, 40);
        if (!m.nowait) this.send({ kind: 'exchange.unbind-ok' });
        return;
      case 'queue.declare': {
        if (m.queue === REPLY_TO || m.queue.startsWith(REPLY_TO_PREFIX)) {
          if (!m.nowait) this.send({ kind: 'queue.declare-ok', queue: m.queue, messageCount: 0, consumerCount: 0 });
          return;
        }
        const declared = vh.declareQueue({ name: m.queue, passive: m.passive, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, args: m.arguments, owner });
        const reply = (q: Queue) => {
          if (!m.nowait && !this.closing) this.send({ kind: 'queue.declare-ok', queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
        };
        if (declared instanceof Promise) return declared.then(reply);
        reply(declared);
        return;
      }
      case 'queue.bind':
        vh.bind(m.exchange, 'queue', m.queue, m.routingKey, m.arguments, owner, 50, 20);
        if (!m.nowait) this.send({ kind: 'queue.bind-ok' });
        return;
      case 'queue.unbind':
        vh.unbind(m.exchange, 'queue', m.queue, m.routingKey, m.arguments, owner, 50, 50);
        this.send({ kind: 'queue.unbind-ok' });
        return;
      case 'queue.purge': {
        const n = vh.queue(m.queue, 50, 30, owner).purge();
        if (!m.nowait) this.send({ kind: 'queue.purge-ok', messageCount: n });
        return;
      }
      case 'queue.delete': {
        const q = vh.queues.get(m.queue);
        if (q) vh.queue(m.queue, 50, 40, owner);
        const n = vh.deleteQueue(m.queue, m.ifUnused, m.ifEmpty);
        if (!m.nowait) this.send({ kind: 'queue.delete-ok', messageCount: n });
        return;
      }
      case 'basic.qos':
        if (m.global) this.globalPrefetch = m.prefetchCount;
        else this.prefetchCount = m.prefetchCount;
        this.send({ kind: 'basic.qos-ok' });
        this.resume();
        return;
      case 'basic.consume':
        this.consume(m.queue, m.consumerTag, m.noAck, m.exclusive, m.nowait, m.arguments);
        return;
      case 'basic.cancel': {
        const c = this.consumers.get(m.consumerTag);
        if (c) this.removeConsumer(c);
        if (!m.nowait) this.send({ kind: 'basic.cancel-ok', consumerTag: m.consumerTag });
        return;
      }
      case 'basic.publish':
        this.startPublish(m.exchange, m.routingKey, m.mandatory, encodeNames(m.exchange, m.routingKey));
        return;
      case 'basic.get':
        this.get(m.queue, m.noAck);
        return;
      case 'basic.ack':
        this.settleAck(m.deliveryTag, m.multiple);
        return;
      case 'basic.nack':
        this.inTx(() => this.settle(m.deliveryTag, m.multiple, m.requeue), m.deliveryTag, m.multiple);
        return;
      case 'basic.reject':
        this.inTx(() => this.settle(m.deliveryTag, false, m.requeue), m.deliveryTag, false);
        return;
      case 'basic.recover':
      case 'basic.recover-async':
        if (!m.requeue) throw new AmqpError(NOT_IMPLEMENTED, 'requeue=false', ...ids(m));
        this.requeueAll();
        if (m.kind === 'basic.recover') this.send({ kind: 'basic.recover-ok' });
        return;
      case 'confirm.select':
        if (this.tx) throw new AmqpError(PRECONDITION_FAILED, 'cannot switch from tx to confirm mode', 85, 10);
        this.confirm = true;
        if (!m.nowait) this.send({ kind: 'confirm.select-ok' });
        return;
      case 'tx.select':
        if (this.confirm) throw new AmqpError(PRECONDITION_FAILED, 'cannot switch from confirm to tx mode', 90, 10);
        this.tx ??= [];
        this.send({ kind: 'tx.select-ok' });
        return;
      case 'tx.commit': {
        if (!this.tx) throw new AmqpError(PRECONDITION_FAILED, 'channel is not transactional', 90, 20);
        const ops = this.tx;
        this.tx = [];
        for (const op of ops) op();
        this.send({ kind: 'tx.commit-ok' });
        return;
      }
      case 'tx.rollback':
        if (!this.tx) throw new AmqpError(PRECONDITION_FAILED, 'channel is not transactional', 90, 30);
        this.tx = [];
        this.send({ kind: 'tx.rollback-ok' });
        return;
      default:
        throw new AmqpError(COMMAND_INVALID, `unexpected method ${m.kind} from client`, ...ids(m));
    }
  }

  /** Acks in a transaction wait for commit, but unknown tags fail at once as in RabbitMQ. */
  private inTx(op: () => void, tag: number, multiple: boolean): void {
    if (!this.tx) return op();
    if (!(multiple && tag === 0) && !multiple && !this.unacked.has(tag)) throw this.unknownTag(tag);
    this.tx.push(op);
  }

  private unknownTag(tag: number): AmqpError {
    return new AmqpError(PRECONDITION_FAILED, `unknown delivery tag ${tag}`, 60, 80);
  }

  private startPublish(exchange: string, routingKey: string, mandatory: boolean, names: Buffer): void {
    const x = this.vhost.exchanges.get(exchange);
    if (!x) {
      // The content still follows; swallow it before closing so the frame sequence stays valid.
      throw new AmqpError(NOT_FOUND, `no exchange '${exchange}' in vhost '${this.vhost.name}'`, 60, 40);
    }
    if (x.def.internal) throw new AmqpError(ACCESS_REFUSED, `cannot publish to internal exchange '${exchange}' in vhost '${this.vhost.name}'`, 60, 40);
    this.pending.start(exchange, routingKey, mandatory, names);
  }

  private publish(msg: Message, mandatory: boolean): void {
    parseExpiration(msg.props.expiration);
    if (msg.props.replyTo === REPLY_TO) {
      if (this.replyToken === undefined) throw new AmqpError(PRECONDITION_FAILED, 'fast reply consumer does not exist', 60, 40);
      const props = { ...msg.props, replyTo: `${REPLY_TO}.${this.replyToken}` };
      const w = new Writer(128);
      encodeBasicProperties(w, props);
      msg = { ...msg, props, rawProps: w.take() };
    }
    const seq = this.confirm ? ++this.publishSeq : 0;
    if (this.tx) {
      this.tx.push(() => this.route(msg, mandatory, 0));
      return;
    }
    this.route(msg, mandatory, seq);
  }

  private route(msg: Message, mandatory: boolean, seq: number): void {
    const vh = this.vhost;
    const { exchange, routingKey } = msg;
    const x = vh.exchanges.get(exchange);
    let rejected = false;
    let routed = false;
    let durable: Array<Promise<void>> | undefined;
    if (x) {
      if (exchange === '' && routingKey.startsWith(REPLY_TO_PREFIX)) {
        const t = this.conn.server.replyTargets.get(routingKey.slice(REPLY_TO.length + 1));
        routed = t !== undefined && t.target.deliverDirect(t.consumerTag, exchange, routingKey, msg.rawProps, msg.body);
      } else if (exchange === '') {
        // The default exchange reaches at most the queue named by the key: no set of queues needed.
        const q = vh.queues.get(routingKey);
        if (q) {
          routed = true;
          const r = q.enqueue(msg);
          if (r === 'rejected') rejected = true;
          else if (r !== 'queued' && seq > 0) durable = [r];
        }
      } else {
        const delay = vh.delayOf(x, msg.props);
        if (delay > 0) {
          const held = vh.publishLater(x, msg, delay);
          if (held && seq > 0) (durable ??= []).push(held);
          routed = true;
        } else {
          const queues = vh.route(x, routingKey, msg.props.headers);
          routed = queues.size > 0;
          for (const q of queues) {
            const r = q.enqueue(msg);
            if (r === 'rejected') rejected = true;
            else if (r !== 'queued' && seq > 0) (durable ??= []).push(r);
          }
        }
      }
    }
    if (!routed && mandatory) {
      this.conn.sendContent(this.id, { kind: 'basic.return', replyCode: NO_ROUTE, replyText: 'NO_ROUTE', exchange, routingKey }, msg.rawProps, msg.body);
    }
    if (seq > 0) {
      if (rejected) this.nacks.add(seq);
      if (durable) {
        this.durablePending.push(seq);
        Promise.all(durable).then(
          () => this.durableSettled(seq),
          () => {
            this.nacks.add(seq);
            this.durableSettled(seq);
          },
        );
      }
      this.routedUpTo = seq;
      this.conn.confirmDirty.add(this);
    }
  }

  private durableSettled(seq: number): void {
    this.durableDone.add(seq);
    this.conn.confirmLater(this);
  }

  /**
   * Confirms in order with as few frames as possible: one multiple-ack up to the first message still
   * waiting for the disk, with nacks (rare) cut out of the range.
   */
  sendConfirms(): void {
    if (this.closing) return;
    while (this.durablePending.length > 0 && this.durableDone.has(this.durablePending[0]!)) {
      this.durableDone.delete(this.durablePending.shift()!);
    }
    const limit = this.durablePending.length > 0 ? this.durablePending[0]! - 1 : this.routedUpTo;
    while (this.confirmSentUpTo < limit) {
      let nack = Infinity;
      for (const n of this.nacks) if (n <= limit && n < nack) nack = n;
      const ackUpTo = nack === Infinity ? limit : nack - 1;
      if (ackUpTo > this.confirmSentUpTo) {
        this.send({ kind: 'basic.ack', deliveryTag: ackUpTo, multiple: ackUpTo - this.confirmSentUpTo > 1 });
        this.confirmSentUpTo = ackUpTo;
      }
      if (nack !== Infinity) {
        this.nacks.delete(nack);
        this.send({ kind: 'basic.nack', deliveryTag: nack, multiple: false, requeue: false });
        this.confirmSentUpTo = nack;
      }
    }
  }

  private consume(queueName: string, tag: string, noAck: boolean, exclusive: boolean, nowait: boolean, args: FieldTable): void {
    const consumerTag = tag === '' ? 'amq.ctag-' + randomBytes(16).toString('base64url').slice(0, 22) : tag;
    if (this.consumers.has(consumerTag)) throw new AmqpError(NOT_ALLOWED, `attempt to reuse consumer tag '${consumerTag}'`, 60, 20);
    if (queueName === REPLY_TO) {
      if (!noAck) throw new AmqpError(PRECONDITION_FAILED, 'reply consumer cannot acknowledge', 60, 20);
      if (this.replyToken !== undefined) throw new AmqpError(PRECONDITION_FAILED, 'reply consumer already set', 60, 20);
      this.replyToken = randomBytes(18).toString('base64url');
      this.conn.server.replyTargets.set(this.replyToken, { target: this, consumerTag });
      if (!nowait) this.send({ kind: 'basic.consume-ok', consumerTag });
      return;
    }
    const q = this.vhost.queue(queueName, 60, 20, this.conn);
    if (exclusive && q.consumerCount > 0) throw new AmqpError(ACCESS_REFUSED, `queue '${q.name}' in vhost '${this.vhost.name}' in exclusive use`, 60, 20);
    if (q.consumers.some((c) => c.exclusive)) throw new AmqpError(ACCESS_REFUSED, `queue '${q.name}' in vhost '${this.vhost.name}' in exclusive use`, 60, 20);
    const priority = fieldNumber(args.get('x-priority')) ?? 0;
    const tagBytes = Buffer.concat([Buffer.from([Buffer.byteLength(consumerTag)]), Buffer.from(consumerTag)]);
    const c: Consumer = { tag: consumerTag, queue: q, channel: this, noAck, exclusive, prefetch: this.prefetchCount, unacked: 0, priority, owner: this.conn, tagBytes };
    this.consumers.set(consumerTag, c);
    if (!nowait) this.send({ kind: 'basic.consume-ok', consumerTag });
    q.addConsumer(c);
  }

  private removeConsumer(c: Consumer): void {
    this.consumers.delete(c.tag);
    if (c.queue.removeConsumer(c)) this.vhost.deleteQueue(c.queue.name);
  }

  private get(queueName: string, noAck: boolean): void {
    const q = this.vhost.queue(queueName, 60, 70, this.conn);
    q.touch();
    const e = q.shift();
    if (!e) {
      this.send({ kind: 'basic.get-empty', clusterId: '' });
      return;
    }
    q.counters.delivered++;
    const tag = ++this.deliveryTag;
    if (!noAck) this.unacked.add(tag, e, q, undefined);
    else q.forget(e);
    this.conn.sendContent(
      this.id,
      { kind: 'basic.get-ok', deliveryTag: tag, redelivered: e.redelivered, exchange: e.msg.exchange, routingKey: e.msg.routingKey, messageCount: q.messageCount },
      e.msg.rawProps,
      e.msg.body,
    );
  }

  canDeliver(c: Consumer): boolean {
    if (this.closing || !this.flowActive || !this.conn.writable) return false;
    if (c.noAck) return true;
    if (c.prefetch !== 0 && c.unacked >= c.prefetch) return false;
    if (this.globalPrefetch !== 0 && this.unacked.size >= this.globalPrefetch) return false;
    return true;
  }

  deliver(c: Consumer, e: QueuedMessage, q: Queue): void {
    const tag = ++this.deliveryTag;
    if (!c.noAck) {
      this.unacked.add(tag, e, q, c);
      c.unacked++;
    }
    this.conn.sendDeliver(this.id, c.tagBytes, tag, e.redelivered, wireNames(e.msg), e.msg.rawProps, e.msg.body);
  }

  deliverDirect(consumerTag: string, exchange: string, routingKey: string, rawProps: Buffer, body: Buffer): boolean {
    if (this.closing) return false;
    const tag = ++this.deliveryTag;
    this.conn.sendContent(this.id, { kind: 'basic.deliver', consumerTag, deliveryTag: tag, redelivered: false, exchange, routingKey }, rawProps, body);
    return true;
  }

  consumerCancelled(c: Consumer): void {
    this.consumers.delete(c.tag);
    if (!this.closing && this.conn.cancelNotify) this.send({ kind: 'basic.cancel', consumerTag: c.tag, nowait: true });
  }

  /** Takes the acknowledged deliveries out of `unacked` (one tag, or every tag up to it) and visits them. */
  private takeAcked(tag: number, multiple: boolean, visit: (entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined) => void): void {
    if (multiple) {
      if (this.unacked.takeUpTo(tag, visit) === 0 && tag !== 0) throw this.unknownTag(tag);
    } else if (!this.unacked.take(tag, visit)) throw this.unknownTag(tag);
  }

  /** Takes the acknowledged deliveries out of `unacked` as records, for the less travelled paths. */
  private take(tag: number, multiple: boolean): Unacked[] {
    const out: Unacked[] = [];
    this.takeAcked(tag, multiple, (entry, queue, consumer) => out.push({ entry, queue, consumer }));
    return out;
  }

  private ack(tag: number, multiple: boolean): void {
    // Throws only when nothing was taken.
    this.takeAcked(tag, multiple, this.onAcked);
    const q = this.ackedQueue;
    const more = this.ackedMore;
    this.ackedQueue = undefined;
    this.ackedMore = undefined;
    q?.dispatch();
    if (more) for (const other of more) other.dispatch();
    if (this.globalPrefetch !== 0) this.resume();
  }

  private settle(tag: number, multiple: boolean, requeue: boolean): void {
    const done = this.take(tag, multiple);
    if (requeue) this.requeue(done);
    else {
      for (const u of done) {
        u.queue.forget(u.entry);
        if (!u.queue.deleted) this.vhost.deadLetter(u.queue, u.entry, 'rejected');
      }
      this.released(done);
    }
  }

  /** Frees prefetch credit and lets the affected queues deliver again. */
  private released(done: Unacked[]): void {
    const queues = new Set<Queue>();
    for (const u of done) {
      if (u.consumer) u.consumer.unacked--;
      queues.add(u.queue);
    }
    for (const q of queues) q.dispatch();
    if (this.globalPrefetch !== 0) this.resume();
  }

  private requeue(done: Unacked[]): void {
    const byQueue = new Map<Queue, QueuedMessage[]>();
    for (const u of done) {
      if (u.consumer) u.consumer.unacked--;
      let list = byQueue.get(u.queue);
      if (!list) byQueue.set(u.queue, (list = []));
      list.push(u.entry);
    }
    for (const [q, list] of byQueue) q.requeue(list);
  }

  private requeueAll(): void {
    if (this.unacked.size === 0) return;
    this.requeue(this.take(0, true));
  }

  /** What the management API shows of this channel. */
  stats(): ChannelStats {
    return { id: this.id, prefetch: this.prefetchCount, globalPrefetch: this.globalPrefetch, unacked: this.unacked.size, consumers: this.consumers.size, confirm: this.confirm, transactional: this.tx !== undefined };
  }

  /** Adds this channel's unacknowledged deliveries to per-queue totals. */
  countUnacked(into: Map<Queue, number>): void {
    this.unacked.forEach((_e, q) => into.set(q, (into.get(q) ?? 0) + 1));
  }

  /** Lets every queue this channel consumes from deliver again (credit, flow or socket drained). */
  resume(): void {
    const queues = new Set<Queue>();
    for (const c of this.consumers.values()) queues.add(c.queue);
    for (const q of queues) q.dispatch();
  }

  private closeWithError(err: AmqpError): void {
    this.release();
    this.closing = true;
    this.send({ kind: 'channel.close', replyCode: err.code, replyText: err.replyText, classId: err.classId, methodId: err.methodId });
  }

  /** Channel is going away: consumers cancelled, unacknowledged messages back to their queues. */
  release(): void {
    this.closing = true;
    this.pending.clear();
    this.tx = undefined;
    if (this.replyToken !== undefined) this.conn.server.replyTargets.delete(this.replyToken);
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    this.requeueAll();
    for (const c of consumers) {
      if (c.queue.removeConsumer(c)) this.vhost.deleteQueue(c.queue.name);
    }
  }
}

