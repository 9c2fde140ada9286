/**
 * Collects the partitions appended to during one event-loop turn and flushes each once at the end of
 * the turn. setImmediate rather than a microtask: a microtask runs after each socket callback, while
 * setImmediate waits until every callback of this poll phase has appended. Measured with 8 TCP
 * producers: ~16 appends per write instead of ~2, for the same or better throughput (bench/log.bench.ts
 * and the numbers in the log engine's report).
 */
export interface Flushable {
  flush(): void;
}

/** `immediate` (the default) ends a group after the poll phase; `microtask` after the current callback. */
export type GroupBoundary = 'immediate' | 'microtask';

export class GroupCommitter {
  private dirty = new Set<Flushable>();
  private scheduled = false;

  constructor(private readonly boundary: GroupBoundary = 'immediate') {}

  schedule(p: Flushable): void {
    this.dirty.add(p);
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.boundary === 'immediate') setImmediate(this.run);
      else queueMicrotask(this.run);
    }
  }

  /** Flushes everything pending now (also called directly when the store closes). */
  readonly run = (): void => {
    this.scheduled = false;
    const ps = [...this.dirty];
    this.dirty.clear();
    for (const p of ps) p.flush();
  };
}
