import { TopicTrie } from './topic-trie.js';
import { headersMatch, type XMatch } from './headers-match.js';
import { encodeTable, type FieldTable } from './wire.js';
import type { DurableQueueStore } from './durable-store.js';

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers' | 'x-delayed-message';
export const EXCHANGE_TYPES: ReadonlySet<string> = new Set(['direct', 'fanout', 'topic', 'headers', 'x-delayed-message']);

export interface Binding {
  /** Identity within the source exchange: destination, key and arguments. */
  readonly id: string;
  readonly source: string;
  readonly destinationKind: 'queue' | 'exchange';
  readonly destination: string;
  readonly routingKey: string;
  readonly args: FieldTable;
  readonly xMatch: XMatch;
}

export function bindingId(kind: 'queue' | 'exchange', destination: string, routingKey: string, args: FieldTable): string {
  return `${kind[0]}\0${destination}\0${routingKey}\0${encodeTable(args).toString('base64')}`;
}

export interface ExchangeDef {
  name: string;
  type: ExchangeType;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

/** An exchange and its outgoing bindings, indexed for its routing algorithm. */
export class Exchange {
  readonly bindings = new Map<string, Binding>();
  private readonly direct = new Map<string, Map<string, Binding>>();
  private readonly topic = new TopicTrie<Binding>();
  /** Routing type; for x-delayed-message the `x-delayed-type` it routes with after the delay. */
  readonly routingType: Exclude<ExchangeType, 'x-delayed-message'>;
  /** Durable x-delayed-message exchanges: persistent messages held until due. */
  delayStore: DurableQueueStore | undefined;

  constructor(readonly def: ExchangeDef) {
    if (def.type === 'x-delayed-message') {
      const inner = def.args.get('x-delayed-type');
      const t = inner && (inner.type === 'S' || inner.type === 'x') ? inner.value.toString() : 'direct';
      this.routingType = t === 'fanout' || t === 'topic' || t === 'headers' ? t : 'direct';
    } else {
      this.routingType = def.type;
    }
  }

  get name(): string {
    return this.def.name;
  }

  addBinding(b: Binding): boolean {
    if (this.bindings.has(b.id)) return false;
    this.bindings.set(b.id, b);
    if (this.routingType === 'direct') {
      let m = this.direct.get(b.routingKey);
      if (!m) this.direct.set(b.routingKey, (m = new Map()));
      m.set(b.id, b);
    } else if (this.routingType === 'topic') {
      this.topic.add(b.routingKey, b.id, b);
    }
    return true;
  }

  removeBinding(id: string): Binding | undefined {
    const b = this.bindings.get(id);
    if (!b) return undefined;
    this.bindings.delete(id);
    if (this.routingType === 'direct') {
      const m = this.direct.get(b.routingKey);
      m?.delete(id);
      if (m && m.size === 0) this.direct.delete(b.routingKey);
    } else if (this.routingType === 'topic') {
      this.topic.remove(b.routingKey, id);
    }
    return b;
  }

  route(routingKey: string, headers: FieldTable | undefined, out: (b: Binding) => void): void {
    switch (this.routingType) {
      case 'direct': {
        const m = this.direct.get(routingKey);
        if (m) for (const b of m.values()) out(b);
        return;
      }
      case 'fanout':
        for (const b of this.bindings.values()) out(b);
        return;
      case 'topic':
        this.topic.match(routingKey, out);
        return;
      case 'headers':
        for (const b of this.bindings.values()) if (headersMatch(b.args, b.xMatch, headers)) out(b);
        return;
    }
  }
}
