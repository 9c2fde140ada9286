import type { QueuedMessage } from './message.js';
import type { Consumer, Queue } from './queue.js';

export type UnackedVisitor = (entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined) => void;

/**
 * A channel's delivered, unacknowledged messages by delivery tag. Tags only grow, so rings of
 * parallel arrays in tag order replace a Map of records: a delivery costs three slots instead of a
 * record plus a hash entry, a multiple-ack walks from the front, and a window that stays about the
 * prefetch size never reallocates. An acknowledgement out of order leaves a hole that is skipped,
 * and squeezed out once holes far outnumber live entries.
 */
export class UnackedWindow {
  private tags: number[] = new Array<number>(16).fill(0);
  private entries: Array<QueuedMessage | undefined> = new Array<QueuedMessage | undefined>(16).fill(undefined);
  private queues: Array<Queue | undefined> = new Array<Queue | undefined>(16).fill(undefined);
  private consumers: Array<Consumer | undefined> = new Array<Consumer | undefined>(16).fill(undefined);
  /** Capacity - 1; capacity is a power of two. */
  private mask = 15;
  /** Physical index of the first slot in use. */
  private head = 0;
  /** Slots in use from `head`, holes included. */
  private len = 0;
  /** Live entries. */
  size = 0;

  /** `tag` must be above every tag added before. */
  add(tag: number, entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined): void {
    if (this.len > this.mask) this.resize((this.mask + 1) * 2);
    const i = (this.head + this.len++) & this.mask;
    this.tags[i] = tag;
    this.entries[i] = entry;
    this.queues[i] = queue;
    this.consumers[i] = consumer;
    this.size++;
  }

  has(tag: number): boolean {
    return this.indexOf(tag) >= 0;
  }

  /** Takes one delivery; false when the tag is not outstanding. */
  take(tag: number, visit: UnackedVisitor): boolean {
    const i = this.indexOf(tag);
    if (i < 0) return false;
    this.takeAt(i, visit);
    this.settle();
    return true;
  }

  /** Takes every delivery with a tag up to `tag` (all of them for 0), in tag order; returns how many. */
  takeUpTo(tag: number, visit: UnackedVisitor): number {
    let n = 0;
    const len = this.len;
    for (let k = 0; k < len; k++) {
      const i = (this.head + k) & this.mask;
      if (tag !== 0 && this.tags[i]! > tag) break;
      if (this.entries[i] === undefined) continue;
      this.takeAt(i, visit);
      n++;
    }
    this.settle();
    return n;
  }

  /** Visits what is outstanding, in tag order. */
  forEach(visit: UnackedVisitor): void {
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + k) & this.mask;
      const e = this.entries[i];
      if (e !== undefined) visit(e, this.queues[i]!, this.consumers[i]);
    }
  }

  private takeAt(i: number, visit: UnackedVisitor): void {
    const e = this.entries[i]!;
    const q = this.queues[i]!;
    const c = this.consumers[i];
    this.entries[i] = undefined;
    this.queues[i] = undefined;
    this.consumers[i] = undefined;
    this.size--;
    visit(e, q, c);
  }

  /** Binary search over the slots in use; the physical index, or -1 when absent or already taken. */
  private indexOf(tag: number): number {
    let lo = 0;
    let hi = this.len - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const i = (this.head + mid) & this.mask;
      const t = this.tags[i]!;
      if (t === tag) return this.entries[i] === undefined ? -1 : i;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Moves the front past taken slots; squeezes holes out when they dominate. */
  private settle(): void {
    while (this.len > 0 && this.entries[this.head] === undefined) {
      this.head = (this.head + 1) & this.mask;
      this.len--;
    }
    if (this.len > 1024 && this.len > 4 * this.size) this.resize(this.mask + 1);
  }

  /** Copies the live entries, in order, to arrays of `capacity` slots (a power of two). */
  private resize(capacity: number): void {
    const tags = new Array<number>(capacity).fill(0);
    const entries = new Array<QueuedMessage | undefined>(capacity).fill(undefined);
    const queues = new Array<Queue | undefined>(capacity).fill(undefined);
    const consumers = new Array<Consumer | undefined>(capacity).fill(undefined);
    let n = 0;
    for (let k = 0; k < this.len; k++) {
      const i = (this.head + k) & this.mask;
      if (this.entries[i] === undefined) continue;
      tags[n] = this.tags[i]!;
      entries[n] = this.entries[i];
      queues[n] = this.queues[i];
      consumers[n] = this.consumers[i];
      n++;
    }
    this.tags = tags;
    this.entries = entries;
    this.queues = queues;
    this.consumers = consumers;
    this.mask = capacity - 1;
    this.head = 0;
    this.len = n;
  }
}
