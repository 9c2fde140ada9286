/**
 * Collects the partitions appended to during one event-loop turn and flushes each once at the end of
 * the turn. setImmediate rather than a microtask: a microtask would run after each socket callback,
 * while setImmediate waits until every callback of this poll phase has appended.
 */
export interface Flushable {
  flush(): void;
}

export class GroupCommitter {
  private dirty = new Set<Flushable>();
  private scheduled = false;

  schedule(p: Flushable): void {
    this.dirty.add(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  /** Flushes everything pending now (close, and reads that must not wait a turn). */
  readonly run = (): void => {
    this.scheduled = false;
    const ps = [...this.dirty];
    this.dirty.clear();
    for (const p of ps) p.flush();
  };
}
