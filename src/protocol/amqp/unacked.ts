import type { QueuedMessage } from './message.js';
import type { Consumer, Queue } from './queue.js';

export type UnackedVisitor = (entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined) => void;

/**
 * A channel's delivered, unacknowledged messages by delivery tag. Tags only grow, so parallel
 * arrays in tag order replace a Map of records: a delivery costs three array slots instead of a
 * record plus a hash entry, and a multiple-ack walks from the front. An acknowledgement out of order
 * leaves a hole that is skipped, and compacted away once holes outnumber live entries.
 */
export class UnackedWindow {
  private tags: number[] = [];
  private entries: Array<QueuedMessage | undefined> = [];
  private queues: Array<Queue | undefined> = [];
  private consumers: Array<Consumer | undefined> = [];
  /** Index of the first slot not yet taken. */
  private head = 0;
  /** Slots in use; the arrays keep their capacity when emptied, so a steady trickle allocates nothing. */
  private len = 0;
  size = 0;

  /** `tag` must be above every tag added before. */
  add(tag: number, entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined): void {
    const i = this.len++;
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
    const end = this.len;
    let i = this.head;
    for (; i < end && (tag === 0 || this.tags[i]! <= tag); i++) {
      if (this.entries[i] === undefined) continue;
      this.takeAt(i, visit);
      n++;
    }
    this.settle();
    return n;
  }

  /** Visits what is outstanding, in tag order. */
  forEach(visit: UnackedVisitor): void {
    for (let i = this.head; i < this.len; i++) {
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

  /** Binary search over the outstanding range; -1 when absent or already taken. */
  private indexOf(tag: number): number {
    let lo = this.head;
    let hi = this.len - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.tags[mid]!;
      if (t === tag) return this.entries[mid] === undefined ? -1 : mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Moves the front past taken slots and reclaims space. */
  private settle(): void {
    if (this.size === 0) {
      // Every slot below len was cleared when taken.
      this.head = 0;
      this.len = 0;
      return;
    }
    while (this.entries[this.head] === undefined) this.head++;
    const span = this.len - this.head;
    if (this.head > 1024 && this.head * 2 > this.len) this.compact(false);
    else if (span > 1024 && span > 4 * this.size) this.compact(true);
  }

  /** Drops the taken front (and, with `holes`, every taken slot) from the arrays. */
  private compact(holes: boolean): void {
    const tags: number[] = [];
    const entries: Array<QueuedMessage | undefined> = [];
    const queues: Array<Queue | undefined> = [];
    const consumers: Array<Consumer | undefined> = [];
    for (let i = this.head; i < this.len; i++) {
      if (holes && this.entries[i] === undefined) continue;
      tags.push(this.tags[i]!);
      entries.push(this.entries[i]);
      queues.push(this.queues[i]);
      consumers.push(this.consumers[i]);
    }
    this.tags = tags;
    this.entries = entries;
    this.queues = queues;
    this.consumers = consumers;
    this.head = 0;
    this.len = tags.length;
  }
}
