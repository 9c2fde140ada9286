import type { BasicProperties } from './generated/properties.js';
import { keepShape } from './shapes.js';

/** A published message; shared, never mutated, by every queue it was routed to. */
export interface Message {
  readonly exchange: string;
  readonly routingKey: string;
  readonly props: BasicProperties;
  /** Property flags and property list exactly as the publisher sent them (re-encoded only when changed). */
  readonly rawProps: Buffer;
  readonly body: Buffer;
  /** Exchange and routing key encoded as two short strings: as published, or filled on first delivery. */
  wireNames?: Buffer;
}

/*
 * Per-message records are class instances, not object literals. V8 pretenures what an object
 * literal's allocation site creates once nearly all of it survived a scavenge (a queue filling up,
 * as in a backlog or a fanout), and that decision does not come back: afterwards every message and
 * queue entry of the process was allocated in the old generation. At 5k msg/s that was ~3 MB/s of
 * old space and a mark-compact every ~1.4 s (5-6 per latency round of (d), 8 ms each) for the rest
 * of the broker's life. A constructor call has no allocation site, so these always start young.
 */

/** A message as the publish path creates it. */
export class PublishedMessage implements Message {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly props: BasicProperties,
    readonly rawProps: Buffer,
    readonly body: Buffer,
    public wireNames: Buffer | undefined,
  ) {}
}

/** The deliver/get-ok fields `exchange` and `routing-key`, encoded once per message. */
export function wireNames(m: Message): Buffer {
  return (m.wireNames ??= encodeNames(m.exchange, m.routingKey));
}

/** `exchange` and `routingKey` as two short strings (both at most 255 bytes, as they arrived in one). */
export function encodeNames(exchange: string, routingKey: string): Buffer {
  const b = Buffer.allocUnsafe(2 + Buffer.byteLength(exchange) + Buffer.byteLength(routingKey));
  const exLen = b.write(exchange, 1);
  b[0] = exLen;
  b[1 + exLen] = b.write(routingKey, 2 + exLen);
  return b;
}

export function isPersistent(m: Message): boolean {
  return m.props.deliveryMode === 2;
}

/** A message's place in one queue. */
export interface QueuedMessage {
  /** Replaced by a body-less copy while paged out, and by the log's copy when read back. */
  msg: Message;
  /** Position in the queue, kept when requeued. */
  readonly seq: number;
  redelivered: boolean;
  /** Epoch ms after which the message is dead; Infinity when it never expires. */
  readonly expiresAt: number;
  readonly priority: number;
  /** Offset in the durable queue's message log; -1 for messages kept in memory only. */
  readonly offset: number;
  /** Body length (also while the body is paged out). */
  readonly size: number;
  /** The body lives only in the durable log until the message is taken. */
  paged: boolean;
  /** Waiting in the queue (not delivered). */
  ready: boolean;
}

/** A queue entry (see PublishedMessage for why a class). */
export class QueueEntry implements QueuedMessage {
  redelivered: boolean;
  paged: boolean;
  ready = false;

  constructor(
    public msg: Message,
    readonly seq: number,
    redelivered: boolean,
    readonly expiresAt: number,
    readonly priority: number,
    readonly offset: number,
    readonly size: number,
    paged: boolean,
  ) {
    this.redelivered = redelivered;
    this.paged = paged;
  }
}

export const EMPTY_BODY = Buffer.alloc(0);

// One record of each kind that never goes away (see shapes.ts): between bursts no message may be
// alive, and the maps of these classes would go with the last one.
keepShape(new QueueEntry(new PublishedMessage('', '', {}, EMPTY_BODY, EMPTY_BODY, undefined), 0, false, Infinity, 0, -1, 0, false));
