/**
 * One timer for every scheduled thing in the process: a binary min-heap of due times (wall-clock ms)
 * and a single setTimeout armed for the earliest.
 *
 * Precision: setTimeout may wake a little before the wall clock reaches the due time (it runs on the
 * monotonic clock, rounded to ms), so an early wake-up re-arms for the remainder and the last
 * millisecond is bridged with setImmediate. Sleeps are capped so that a wall-clock jump while asleep is
 * noticed within MAX_SLEEP_MS; a jump is detected by comparing wall and monotonic elapsed time.
 */

export interface TimerEntry {
  /** Wall-clock ms at which `fire` should run. */
  due: number;
  /** Called with the wall-clock time it actually ran. */
  readonly fire: (now: number) => void;
  /** Whether this entry keeps the process alive. */
  refed: boolean;
  /** Position in the heap, -1 when not scheduled. */
  index: number;
  seq: number;
}

export interface ClockJump {
  /** Wall clock minus monotonic clock change since the last wake-up, ms (negative = clock went back). */
  readonly skewMs: number;
}

const MAX_SLEEP_MS = 5_000;
/** Remaining waits this short are bridged with setImmediate, which setTimeout's ms rounding would overshoot. */
const BRIDGE_MS = 1;
/** Below this a wall-vs-monotonic disagreement is timer jitter or event-loop lag, not a clock change. */
const JUMP_THRESHOLD_MS = 1_000;

export class TimerHeap {
  private readonly heap: TimerEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private armedFor = Infinity;
  private refCount = 0;
  private seq = 0;
  private lastWall = 0;
  private lastMono = 0;
  private readonly jumpListeners = new Set<(jump: ClockJump) => void>();

  get size(): number {
    return this.heap.length;
  }

  onClockJump(listener: (jump: ClockJump) => void): () => void {
    this.jumpListeners.add(listener);
    return () => this.jumpListeners.delete(listener);
  }

  createEntry(fire: (now: number) => void, refed = true): TimerEntry {
    return { due: 0, fire, refed, index: -1, seq: 0 };
  }

  /** Schedules (or reschedules) an entry for `due`. */
  schedule(entry: TimerEntry, due: number): void {
    if (entry.index >= 0) this.detach(entry);
    entry.due = due;
    entry.seq = this.seq++;
    entry.index = this.heap.length;
    this.heap.push(entry);
    this.up(entry.index);
    if (entry.refed) this.refCount++;
    this.arm();
  }

  remove(entry: TimerEntry): void {
    if (entry.index < 0) return;
    this.detach(entry);
    this.arm();
  }

  private detach(entry: TimerEntry): void {
    const i = entry.index;
    const last = this.heap.pop()!;
    if (last !== entry) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(i);
    }
    entry.index = -1;
    if (entry.refed) this.refCount--;
  }

  setRef(entry: TimerEntry, refed: boolean): void {
    if (entry.refed === refed) return;
    entry.refed = refed;
    if (entry.index >= 0) {
      this.refCount += refed ? 1 : -1;
      this.applyRef();
    }
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const item = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(item, h[p]!)) break;
      h[i] = h[p]!;
      h[i].index = i;
      i = p;
    }
    h[i] = item;
    item.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[c]!, item)) break;
      h[i] = h[c]!;
      h[i].index = i;
      i = c;
    }
    h[i] = item;
    item.index = i;
  }

  private applyRef(): void {
    if (!this.timer) return;
    if (this.refCount > 0) this.timer.ref();
    else this.timer.unref();
  }

  private clearArmed(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = Infinity;
  }

  private arm(): void {
    const head = this.heap[0];
    if (!head) {
      this.clearArmed();
      return;
    }
    if (head.due === this.armedFor && (this.timer || this.immediate)) {
      this.applyRef();
      return;
    }
    this.clearArmed();
    const now = Date.now();
    this.lastWall = now;
    this.lastMono = performance.now();
    this.armedFor = head.due;
    const delay = head.due - now;
    if (delay <= BRIDGE_MS) {
      this.immediate = setImmediate(() => this.wake());
      if (this.refCount === 0) this.immediate.unref();
      return;
    }
    this.timer = setTimeout(() => this.wake(), Math.min(delay, MAX_SLEEP_MS));
    this.applyRef();
  }

  private wake(): void {
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    const skew = now - this.lastWall - (performance.now() - this.lastMono);
    if (Math.abs(skew) >= JUMP_THRESHOLD_MS) {
      for (const l of this.jumpListeners) l({ skewMs: skew });
    }
    // Entries fired in this turn all see the same `now`; an entry rescheduled for a time that is
    // already due waits for the next turn, so a misbehaving schedule cannot starve the loop.
    const batch: TimerEntry[] = [];
    while (this.heap.length > 0 && this.heap[0]!.due <= now) {
      const e = this.heap[0]!;
      this.detach(e);
      batch.push(e);
    }
    for (const e of batch) e.fire(now);
    if (this.heap.length > 0 && !this.timer && !this.immediate) this.arm();
  }
}

let shared: TimerHeap | undefined;

/** The process-wide heap every cron task shares. */
export function sharedTimerHeap(): TimerHeap {
  shared ??= new TimerHeap();
  return shared;
}
