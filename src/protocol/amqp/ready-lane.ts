/**
 * Ready messages of one priority: a FIFO of fresh messages plus a min-heap (by sequence number) of
 * requeued ones, so a requeued message goes back to its original position as it does in RabbitMQ
 * without shifting the array.
 */
export interface Sequenced {
  readonly seq: number;
}

/** Capacity a lane starts with and does not shrink below. */
const MIN_RING = 16;

export class ReadyLane<T extends Sequenced> {
  /**
   * Fresh messages in a ring (capacity a power of two): a lane that is filled and drained all the
   * time, as a queue with a waiting consumer is, allocates nothing per message. An array with a
   * moving head was re-grown from empty and sliced every 1024 messages, ~30 B of garbage each.
   */
  private ring: Array<T | undefined> = new Array<T | undefined>(MIN_RING).fill(undefined);
  private mask = MIN_RING - 1;
  private head = 0;
  private len = 0;
  private readonly returned: T[] = [];

  get size(): number {
    return this.len + this.returned.length;
  }

  push(e: T): void {
    if (this.len > this.mask) this.resize((this.mask + 1) * 2);
    this.ring[(this.head + this.len++) & this.mask] = e;
  }

  /** Moves the fresh messages, in order, to a ring of `capacity` slots. */
  private resize(capacity: number): void {
    const next = new Array<T | undefined>(capacity).fill(undefined);
    for (let i = 0; i < this.len; i++) next[i] = this.ring[(this.head + i) & this.mask];
    this.ring = next;
    this.mask = capacity - 1;
    this.head = 0;
  }

  private fresh(): T | undefined {
    return this.len > 0 ? this.ring[this.head] : undefined;
  }

  /** Puts back a message taken earlier; it comes out before every message published after it. */
  putBack(e: T): void {
    const h = this.returned;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.seq <= h[i]!.seq) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  peek(): T | undefined {
    const fresh = this.fresh();
    const back = this.returned[0];
    if (back && (!fresh || back.seq < fresh.seq)) return back;
    return fresh;
  }

  shift(): T | undefined {
    const fresh = this.fresh();
    const back = this.returned[0];
    if (back && (!fresh || back.seq < fresh.seq)) return this.popReturned();
    if (!fresh) return undefined;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.len--;
    // A ring grown for a backlog is given back once the backlog is gone (not per message: only
    // when a quarter of a large ring would still hold everything).
    if (this.mask >= 4 * MIN_RING && this.len * 4 <= this.mask) this.resize((this.mask + 1) / 2);
    return fresh;
  }

  count(pred: (e: T) => boolean): number {
    let n = 0;
    for (let i = 0; i < this.len; i++) if (pred(this.ring[(this.head + i) & this.mask]!)) n++;
    for (const e of this.returned) if (pred(e)) n++;
    return n;
  }

  /** Empties the lane; returns the fresh messages in order, then the requeued ones. */
  clear(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.len; i++) out.push(this.ring[(this.head + i) & this.mask]!);
    for (const e of this.returned) out.push(e);
    this.ring = new Array<T | undefined>(MIN_RING).fill(undefined);
    this.mask = MIN_RING - 1;
    this.head = 0;
    this.len = 0;
    this.returned.length = 0;
    return out;
  }

  private popReturned(): T {
    const h = this.returned;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.seq < h[m]!.seq) m = l;
        if (r < h.length && h[r]!.seq < h[m]!.seq) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
