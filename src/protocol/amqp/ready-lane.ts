/**
 * Ready messages of one priority: a FIFO of fresh messages plus a min-heap (by sequence number) of
 * requeued ones, so a requeued message goes back to its original position as it does in RabbitMQ
 * without shifting the array.
 */
export interface Sequenced {
  readonly seq: number;
}

export class ReadyLane<T extends Sequenced> {
  private items: T[] = [];
  private head = 0;
  private readonly returned: T[] = [];

  get size(): number {
    return this.items.length - this.head + this.returned.length;
  }

  push(e: T): void {
    this.items.push(e);
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
    const fresh = this.head < this.items.length ? this.items[this.head] : undefined;
    const back = this.returned[0];
    if (back && (!fresh || back.seq < fresh.seq)) return back;
    return fresh;
  }

  shift(): T | undefined {
    const fresh = this.head < this.items.length ? this.items[this.head] : undefined;
    const back = this.returned[0];
    if (back && (!fresh || back.seq < fresh.seq)) return this.popReturned();
    if (!fresh) return undefined;
    this.items[this.head] = undefined as unknown as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return fresh;
  }

  count(pred: (e: T) => boolean): number {
    let n = 0;
    for (let i = this.head; i < this.items.length; i++) if (pred(this.items[i]!)) n++;
    for (const e of this.returned) if (pred(e)) n++;
    return n;
  }

  clear(): T[] {
    const out = this.items.slice(this.head).concat(this.returned);
    this.items = [];
    this.head = 0;
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
