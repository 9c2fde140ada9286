import { randomBytes } from 'node:crypto';
import { AmqpError } from './errors.js';
import { ACCESS_REFUSED, NOT_FOUND, PRECONDITION_FAILED, RESOURCE_LOCKED, COMMAND_INVALID } from './generated/constants.js';
import { Exchange, EXCHANGE_TYPES, bindingId, type Binding, type ExchangeDef, type ExchangeType } from './exchange.js';
import { xMatchOf } from './headers-match.js';
import { Queue, type DeadLetterReason, type QueueDef } from './queue.js';
import { isPersistent, type Message, type QueuedMessage } from './message.js';
import type { MetadataStore } from './metadata.js';
import { DurableQueueStore, type DurableStoreOptions } from './durable-store.js';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import { Writer, fieldEquals, fieldNumber, fieldString, str, type FieldTable, type FieldValue } from './wire.js';
import { encodeBasicProperties, type BasicProperties } from './generated/properties.js';

const PREDECLARED: ReadonlyArray<[string, ExchangeType]> = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

export interface DurableRoot extends DurableStoreOptions {
  /** `<dataDir>/amqp/queues`: one directory per durable queue incarnation. */
  dir: string;
  logger: Logger;
  /** Per durable queue: ready persistent bodies kept in memory before they are paged out. */
  residentBudgetBytes: number;
}

export interface DeclareExchangeArgs {
  name: string;
  type: string;
  passive: boolean;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

export interface DeclareQueueArgs {
  name: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
  owner: object;
}

function inequivalent(what: string, kind: 'exchange' | 'queue', name: string, vhost: string, received: string, current: string, methodId: number): AmqpError {
  return new AmqpError(
    PRECONDITION_FAILED,
    `inequivalent arg '${what}' for ${kind} '${name}' in vhost '${vhost}': received '${received}' but current is '${current}'`,
    kind === 'exchange' ? 40 : 50,
    methodId,
  );
}

/** Queue arguments whose difference makes a redeclare inequivalent (RabbitMQ's list). */
const QUEUE_EQUIV_ARGS = ['x-message-ttl', 'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-priority', 'x-overflow', 'x-single-active-consumer', 'x-queue-type'];

/** One virtual host: its exchanges, queues and bindings, and message routing between them. */
export class VirtualHost {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  private readonly delayed = new Set<NodeJS.Timeout>();

  /** Durable queues whose message log is still opening; a second declare waits for the first. */
  private readonly opening = new Map<string, Promise<Queue>>();
  private readonly openingExchanges = new Map<string, Promise<Exchange>>();

  private constructor(
    readonly name: string,
    private readonly store: MetadataStore,
    private readonly durable: DurableRoot,
  ) {}

  /** Loads the vhost's durable topology and recovers persistent messages of durable queues. */
  static async open(name: string, store: MetadataStore, durable: DurableRoot): Promise<VirtualHost> {
    const vh = new VirtualHost(name, store, durable);
    await vh.load();
    return vh;
  }

  private async load(): Promise<void> {
    const { name, store } = this;
    for (const [n, type] of PREDECLARED) {
      this.exchanges.set(n, new Exchange({ name: n, type, durable: true, autoDelete: false, internal: false, args: new Map() }));
    }
    for (const { def, storeDir } of store.exchanges(name)) {
      const x = new Exchange(def);
      this.exchanges.set(def.name, x);
      if (def.type === 'x-delayed-message') {
        const dirName = storeDir ?? newStoreDir();
        if (storeDir === null) store.saveExchange(name, def, dirName);
        // Held messages are routed straight from memory when due, so none is paged out.
        const { store: ds, recovered } = await DurableQueueStore.open(join(this.durable.dir, dirName), { ...this.durable, residentBudgetBytes: Infinity });
        x.delayStore = ds;
        for (const r of recovered) this.hold(x, r.msg, Math.max(0, r.expiresAt - Date.now()), r.offset);
      }
    }
    for (const { def, storeDir } of store.queues(name)) {
      const q = this.makeQueue(def, null);
      const dirName = storeDir ?? newStoreDir();
      if (storeDir === null) store.saveQueue(name, def, dirName);
      const { store: qs, recovered } = await DurableQueueStore.open(join(this.durable.dir, dirName), this.durable);
      q.store = qs;
      q.recover(recovered);
      this.queues.set(def.name, q);
    }
    for (const b of store.bindings(name)) {
      const src = this.exchanges.get(b.source);
      const destExists = b.destinationKind === 'queue' ? this.queues.has(b.destination) : this.exchanges.has(b.destination);
      if (src && destExists) src.addBinding(this.makeBinding(b.source, b.destinationKind, b.destination, b.routingKey, b.args));
    }
  }

  private makeQueue(d: QueueDef, owner: object | null): Queue {
    return new Queue(
      d,
      this.name,
      owner,
      {
        deadLetter: (q, e, reason) => this.deadLetter(q, e, reason),
        expired: (q) => this.deleteQueue(q.name),
      },
      this.durable.residentBudgetBytes,
    );
  }

  private makeBinding(source: string, kind: 'queue' | 'exchange', destination: string, routingKey: string, args: FieldTable): Binding {
    return { id: bindingId(kind, destination, routingKey, args), source, destinationKind: kind, destination, routingKey, args, xMatch: xMatchOf(args) ?? 'all' };
  }

  exchange(name: string, classId: number, methodId: number): Exchange {
    const x = this.exchanges.get(name);
    if (!x) throw new AmqpError(NOT_FOUND, `no exchange '${name}' in vhost '${this.name}'`, classId, methodId);
    return x;
  }

  queue(name: string, classId: number, methodId: number, owner?: object): Queue {
    const q = this.queues.get(name);
    if (!q) throw new AmqpError(NOT_FOUND, `no queue '${name}' in vhost '${this.name}'`, classId, methodId);
    if (owner !== undefined && q.owner !== null && q.owner !== owner) throw this.locked(name, classId, methodId);
    return q;
  }

  private locked(name: string, classId: number, methodId: number): AmqpError {
    return new AmqpError(
      RESOURCE_LOCKED,
      `cannot obtain exclusive access to locked queue '${name}' in vhost '${this.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      classId,
      methodId,
    );
  }

  declareExchange(a: DeclareExchangeArgs): Exchange | Promise<Exchange> {
    const opening = this.openingExchanges.get(a.name);
    if (opening) return opening.then(() => this.declareExchange(a));
    const existing = this.exchanges.get(a.name);
    if (a.passive) {
      if (!existing) throw new AmqpError(NOT_FOUND, `no exchange '${a.name}' in vhost '${this.name}'`, 40, 10);
      return existing;
    }
    if (a.name.startsWith('amq.') && !existing) {
      throw new AmqpError(ACCESS_REFUSED, `exchange name '${a.name}' contains reserved prefix 'amq.*'`, 40, 10);
    }
    if (!EXCHANGE_TYPES.has(a.type)) {
      throw new AmqpError(COMMAND_INVALID, `unknown exchange type '${a.type}'`, 40, 10);
    }
    if (existing) {
      const d = existing.def;
      if (d.type !== a.type) throw inequivalent('type', 'exchange', a.name, this.name, a.type, d.type, 10);
      if (d.durable !== a.durable) throw inequivalent('durable', 'exchange', a.name, this.name, String(a.durable), String(d.durable), 10);
      if (d.autoDelete !== a.autoDelete) throw inequivalent('auto_delete', 'exchange', a.name, this.name, String(a.autoDelete), String(d.autoDelete), 10);
      if (d.internal !== a.internal) throw inequivalent('internal', 'exchange', a.name, this.name, String(a.internal), String(d.internal), 10);
      return existing;
    }
    const def: ExchangeDef = { name: a.name, type: a.type as ExchangeType, durable: a.durable, autoDelete: a.autoDelete, internal: a.internal, args: a.args };
    const x = new Exchange(def);
    if (a.durable && def.type === 'x-delayed-message') {
      const dirName = newStoreDir();
      const p = DurableQueueStore.open(join(this.durable.dir, dirName), this.durable).then(
        ({ store }) => {
          this.openingExchanges.delete(a.name);
          x.delayStore = store;
          this.exchanges.set(a.name, x);
          this.store.saveExchange(this.name, def, dirName);
          return x;
        },
        (err: Error) => {
          this.openingExchanges.delete(a.name);
          throw err;
        },
      );
      this.openingExchanges.set(a.name, p);
      return p;
    }
    this.exchanges.set(a.name, x);
    if (a.durable) this.store.saveExchange(this.name, def);
    return x;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '' || name.startsWith('amq.')) {
      const detail = name === '' ? 'operation not permitted on the default exchange' : `deletion of system exchange '${name}' in vhost '${this.name}' not allowed`;
      throw new AmqpError(ACCESS_REFUSED, detail, 40, 20);
    }
    const x = this.exchanges.get(name);
    // RabbitMQ answers delete-ok for an exchange that does not exist (idempotent delete).
    if (!x) return;
    if (ifUnused && x.bindings.size > 0) throw new AmqpError(PRECONDITION_FAILED, `exchange '${name}' in vhost '${this.name}' in use`, 40, 20);
    this.removeExchange(x);
  }

  private removeExchange(x: Exchange): void {
    this.exchanges.delete(x.name);
    for (const other of this.exchanges.values()) {
      for (const b of [...other.bindings.values()]) {
        if (b.destinationKind === 'exchange' && b.destination === x.name) this.dropBinding(other, b);
      }
    }
    if (x.def.durable) this.store.deleteExchange(this.name, x.name);
    if (x.delayStore) {
      const dir = x.delayStore.dir;
      x.delayStore.destroy().catch((err: Error) => this.durable.logger.error('could not remove delayed-message log', { dir, err }));
      x.delayStore = undefined;
    }
  }

  declareQueue(a: DeclareQueueArgs): Queue | Promise<Queue> {
    const opening = this.opening.get(a.name);
    if (opening) return opening.then(() => this.declareQueue(a));
    let name = a.name;
    if (name === '') {
      if (a.passive) throw new AmqpError(NOT_FOUND, `no queue '' in vhost '${this.name}'`, 50, 10);
      name = 'amq.gen-' + randomBytes(16).toString('base64url').slice(0, 22);
    }
    const existing = this.queues.get(name);
    if (a.passive) {
      if (!existing) throw new AmqpError(NOT_FOUND, `no queue '${name}' in vhost '${this.name}'`, 50, 10);
      if (existing.owner !== null && existing.owner !== a.owner) throw this.locked(name, 50, 10);
      existing.touch();
      return existing;
    }
    if (a.name.startsWith('amq.') && !existing) {
      throw new AmqpError(ACCESS_REFUSED, `queue name '${name}' contains reserved prefix 'amq.*'`, 50, 10);
    }
    if (existing) {
      if (existing.owner !== null && existing.owner !== a.owner) throw this.locked(name, 50, 10);
      const d = existing.def;
      if (d.durable !== a.durable) throw inequivalent('durable', 'queue', name, this.name, String(a.durable), String(d.durable), 10);
      if (d.exclusive !== a.exclusive) throw this.locked(name, 50, 10);
      if (d.autoDelete !== a.autoDelete) throw inequivalent('auto_delete', 'queue', name, this.name, String(a.autoDelete), String(d.autoDelete), 10);
      for (const k of QUEUE_EQUIV_ARGS) {
        const have = d.args.get(k);
        const want = a.args.get(k);
        if (have === undefined && want === undefined) continue;
        if (have === undefined || want === undefined || !fieldEquals(have, want)) {
          throw inequivalent(k, 'queue', name, this.name, describe(want), describe(have), 10);
        }
      }
      existing.touch();
      return existing;
    }
    const def: QueueDef = { name, durable: a.durable, exclusive: a.exclusive, autoDelete: a.autoDelete, args: a.args };
    const q = this.makeQueue(def, a.exclusive ? a.owner : null);
    // Every queue is bound to the default exchange by its name; routing handles that implicitly.
    if (!a.durable || a.exclusive) {
      this.queues.set(name, q);
      return q;
    }
    const dirName = newStoreDir();
    const p = DurableQueueStore.open(join(this.durable.dir, dirName), this.durable).then(
      ({ store }) => {
        this.opening.delete(name);
        q.store = store;
        this.store.saveQueue(this.name, def, dirName);
        this.queues.set(name, q);
        return q;
      },
      (err: Error) => {
        this.opening.delete(name);
        throw err;
      },
    );
    this.opening.set(name, p);
    return p;
  }

  /** Removes the queue, its bindings and consumers; returns the number of ready messages dropped. */
  deleteQueue(name: string, ifUnused = false, ifEmpty = false): number {
    const q = this.queues.get(name);
    if (!q) return 0;
    if (ifUnused && q.consumerCount > 0) throw new AmqpError(PRECONDITION_FAILED, `queue '${name}' in vhost '${this.name}' in use`, 50, 40);
    if (ifEmpty && q.messageCount > 0) throw new AmqpError(PRECONDITION_FAILED, `queue '${name}' in vhost '${this.name}' not empty`, 50, 40);
    this.queues.delete(name);
    for (const x of [...this.exchanges.values()]) {
      for (const b of [...x.bindings.values()]) {
        if (b.destinationKind === 'queue' && b.destination === name) this.dropBinding(x, b);
      }
    }
    if (q.def.durable && !q.def.exclusive) this.store.deleteQueue(this.name, name);
    const n = q.destroy();
    if (q.store) {
      const dir = q.store.dir;
      q.store.destroy().catch((err: Error) => this.durable.logger.error('could not remove queue log', { dir, err }));
      q.store = undefined;
    }
    return n;
  }

  /** Removes a binding and, when it was the last one of an auto-delete exchange, the exchange. */
  private dropBinding(x: Exchange, b: Binding): void {
    x.removeBinding(b.id);
    if (x.def.durable) this.store.deleteBinding(this.name, b);
    if (x.def.autoDelete && x.bindings.size === 0 && this.exchanges.get(x.name) === x) this.removeExchange(x);
  }

  bind(source: string, kind: 'queue' | 'exchange', destination: string, routingKey: string, args: FieldTable, owner: object, classId: number, methodId: number): void {
    if (source === '') throw new AmqpError(ACCESS_REFUSED, `operation not permitted on the default exchange`, classId, methodId);
    const x = this.exchange(source, classId, methodId);
    let durableDest: boolean;
    if (kind === 'queue') {
      const q = this.queue(destination, classId, methodId, owner);
      durableDest = q.def.durable && !q.def.exclusive;
    } else {
      const d = this.exchange(destination, classId, methodId);
      if (destination === '') throw new AmqpError(ACCESS_REFUSED, `operation not permitted on the default exchange`, classId, methodId);
      durableDest = d.def.durable;
    }
    if (x.routingType === 'headers' && xMatchOf(args) === undefined) {
      throw new AmqpError(PRECONDITION_FAILED, `Invalid x-match field value <<"${describe(args.get('x-match'))}">>; expected all, any, all-with-x, or any-with-x`, classId, methodId);
    }
    const b = this.makeBinding(source, kind, destination, routingKey, args);
    if (x.addBinding(b) && x.def.durable && durableDest) this.store.saveBinding(this.name, b);
  }

  unbind(source: string, kind: 'queue' | 'exchange', destination: string, routingKey: string, args: FieldTable, owner: object, classId: number, methodId: number): void {
    if (source === '') throw new AmqpError(ACCESS_REFUSED, `operation not permitted on the default exchange`, classId, methodId);
    const x = this.exchange(source, classId, methodId);
    if (kind === 'queue') this.queue(destination, classId, methodId, owner);
    else this.exchange(destination, classId, methodId);
    const b = x.bindings.get(bindingId(kind, destination, routingKey, args));
    if (b) this.dropBinding(x, b);
  }

  /** The queues a message published to `exchange` reaches: e2e bindings followed, alternate exchanges used. */
  route(exchange: Exchange, routingKey: string, headers: FieldTable | undefined): Set<Queue> {
    const out = new Set<Queue>();
    if (exchange.name === '') {
      const q = this.queues.get(routingKey);
      if (q) out.add(q);
      return out;
    }
    const seen = new Set<Exchange>();
    const visit = (x: Exchange) => {
      if (seen.has(x)) return;
      seen.add(x);
      let matched = false;
      x.route(routingKey, headers, (b) => {
        if (b.destinationKind === 'queue') {
          const q = this.queues.get(b.destination);
          if (q) {
            out.add(q);
            matched = true;
          }
        } else {
          const next = this.exchanges.get(b.destination);
          if (next) {
            const before = out.size;
            visit(next);
            if (out.size > before) matched = true;
          }
        }
      });
      if (!matched) {
        const ae = fieldString(x.def.args.get('alternate-exchange'));
        const alt = ae === undefined ? undefined : this.exchanges.get(ae);
        if (alt) visit(alt);
      }
    };
    visit(exchange);
    return out;
  }

  /** For x-delayed-message exchanges: ms to hold the message, or 0. */
  delayOf(exchange: Exchange, props: BasicProperties): number {
    if (exchange.def.type !== 'x-delayed-message') return 0;
    const d = fieldNumber(props.headers?.get('x-delay'));
    return d !== undefined && d > 0 ? d : 0;
  }

  /**
   * Holds a message for `delay` ms then routes it (the delayed-message plugin's behaviour, without
   * mandatory). On a durable exchange a persistent message is logged first; the promise settles once
   * it is durable.
   */
  publishLater(exchange: Exchange, msg: Message, delay: number): Promise<void> | undefined {
    if (exchange.delayStore && isPersistent(msg)) {
      const { offset, durable } = exchange.delayStore.append(msg, Date.now() + delay);
      this.hold(exchange, msg, delay, offset);
      return durable;
    }
    this.hold(exchange, msg, delay, -1);
    return undefined;
  }

  private hold(exchange: Exchange, msg: Message, delay: number, offset: number): void {
    const t = setTimeout(() => {
      this.delayed.delete(t);
      if (this.exchanges.get(exchange.name) !== exchange) return;
      for (const q of this.route(exchange, msg.routingKey, msg.props.headers)) q.enqueue(msg);
      if (offset >= 0) exchange.delayStore?.ack(offset);
    }, delay);
    t.unref();
    this.delayed.add(t);
  }

  /** Republishes a message to the queue's dead-letter exchange with RabbitMQ's x-death bookkeeping. */
  deadLetter(q: Queue, e: QueuedMessage, reason: DeadLetterReason): void {
    const dlxName = q.limits.deadLetterExchange;
    if (dlxName === undefined) return;
    const dlx = this.exchanges.get(dlxName);
    if (!dlx) return;
    const routingKey = q.limits.deadLetterRoutingKey ?? e.msg.routingKey;
    const msg = withDeath(e.msg, q.name, reason);
    for (const target of this.route(dlx, routingKey, msg.props.headers)) {
      // A dead-letter cycle that no client rejection interrupts would go round forever; RabbitMQ drops it.
      if (isDeadLetterCycle(msg, target.name)) continue;
      target.enqueue({ ...msg, exchange: dlxName, routingKey, wireNames: undefined });
    }
  }

  /** Stops timers and closes (not deletes) the durable queues' logs. */
  async close(): Promise<void> {
    for (const t of this.delayed) clearTimeout(t);
    this.delayed.clear();
    await Promise.allSettled([...this.opening.values(), ...this.openingExchanges.values()]);
    const closing: Array<Promise<void>> = [];
    for (const x of this.exchanges.values()) if (x.delayStore) closing.push(x.delayStore.close());
    for (const q of this.queues.values()) {
      q.destroy();
      if (q.store) closing.push(q.store.close());
    }
    await Promise.all(closing);
  }
}

function newStoreDir(): string {
  return randomBytes(12).toString('hex');
}

function describe(v: FieldValue | undefined): string {
  if (v === undefined) return 'none';
  if (v.type === 'S' || v.type === 'x') return v.value.toString();
  return String(v.value);
}

/** The message already died in `queue` and no death on its way was a rejection. */
function isDeadLetterCycle(msg: Message, queue: string): boolean {
  const deaths = msg.props.headers?.get('x-death');
  if (!deaths || deaths.type !== 'A') return false;
  let seen = false;
  for (const d of deaths.value) {
    if (d.type !== 'F') continue;
    if (fieldString(d.value.get('reason')) === 'rejected') return false;
    if (fieldString(d.value.get('queue')) === queue) seen = true;
  }
  return seen;
}

/** Adds or updates the `x-death` entry for (queue, reason), newest first, as RabbitMQ 3.10 does. */
function withDeath(msg: Message, queue: string, reason: DeadLetterReason): Message {
  const headers: FieldTable = new Map(msg.props.headers ?? []);
  const old = headers.get('x-death');
  const deaths: FieldValue[] = old && old.type === 'A' ? [...old.value] : [];
  const idx = deaths.findIndex((d) => d.type === 'F' && fieldString(d.value.get('queue')) === queue && fieldString(d.value.get('reason')) === reason);
  let count = 1n;
  if (idx >= 0) {
    const prev = deaths[idx]!;
    const c = prev.type === 'F' ? prev.value.get('count') : undefined;
    count = (c && c.type === 'l' ? c.value : 0n) + 1n;
    deaths.splice(idx, 1);
  }
  const entry: FieldTable = new Map<string, FieldValue>([
    ['count', { type: 'l', value: count }],
    ['reason', str(reason)],
    ['queue', str(queue)],
    ['time', { type: 'T', value: BigInt(Math.floor(Date.now() / 1000)) }],
    ['exchange', str(msg.exchange)],
    ['routing-keys', { type: 'A', value: [str(msg.routingKey)] }],
  ]);
  if (msg.props.expiration !== undefined) entry.set('original-expiration', str(msg.props.expiration));
  deaths.unshift({ type: 'F', value: entry });
  headers.set('x-death', { type: 'A', value: deaths });
  if (!headers.has('x-first-death-reason')) {
    headers.set('x-first-death-reason', str(reason));
    headers.set('x-first-death-queue', str(queue));
    headers.set('x-first-death-exchange', str(msg.exchange));
  }
  // The per-message TTL is removed so the dead-lettered copy does not expire again immediately.
  const props: BasicProperties = { ...msg.props, headers };
  delete props.expiration;
  const w = new Writer(128);
  encodeBasicProperties(w, props);
  return { exchange: msg.exchange, routingKey: msg.routingKey, props, rawProps: w.take(), body: msg.body };
}
