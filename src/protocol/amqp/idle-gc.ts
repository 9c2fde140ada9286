import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * One full collection when the door goes quiet after heavy work, so V8 does not start it later in
 * the middle of traffic.
 *
 * The records of a backlog (a pre-filled queue, a fanout) survive scavenges and are promoted; once it
 * drains, the old generation is tens of MB of garbage that V8 collects whenever its heuristics decide,
 * typically under the next traffic: in AMQP bench scenario (d), run right after (c) drained 100k
 * messages, one 5.9 ms mark-compact landed in the measured second and doubled the p99. RabbitMQ does
 * the analogue: an idle queue process hibernates, which sweeps its heap.
 *
 * Costs while traffic flows: one boolean store per read (`active`), and a timer that looks at it every
 * `idleMs / 2`. Heap statistics are read only once the door has been quiet for `idleMs`, and only once
 * per quiet spell; a collection runs only when the old generation (with external memory, which
 * message bodies live in) grew by `growthBytes` since the last one, so an idle broker is not collected
 * again and again, and a broker that never grows never pays for it.
 */
export interface IdleGcOptions {
  /** No frames read for this long (ms) counts as idle. */
  idleMs?: number;
  /** Growth of old space + large objects + external memory (bytes) since the last major GC that justifies one. */
  growthBytes?: number;
  /** Bytes the collection is about; defaults to V8's heap statistics. Tests substitute their own. */
  measure?: () => number;
  /** Runs a full collection; defaults to `globalThis.gc` (--expose-gc) or one obtained at runtime. */
  collect?: () => void;
  /** Tests drive `tick()` themselves. */
  timer?: boolean;
}

/**
 * 80 ms: a client's pause between two jobs is short. In the AMQP bench the quiet spell between (c)
 * draining its backlog and (d)'s first frame (a worker thread starting, importing amqplib, connecting)
 * measured 110-150 ms, so 200 ms never found it and V8's collection of (c)'s garbage stayed due.
 */
export const IDLE_GC_DEFAULTS = { idleMs: 80, growthBytes: 16 * 1024 * 1024 } as const;

/** Old space, large objects and external memory in use: what a backlog leaves behind as garbage. */
export function oldGenerationBytes(): number {
  let bytes = v8.getHeapStatistics().external_memory;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'old_space' || s.space_name === 'large_object_space') bytes += s.space_used_size;
  }
  return bytes;
}

let runtimeGc: (() => void) | undefined;

/**
 * `gc` as exposed by --expose-gc (src/cli.ts's flags), or else taken from a fresh context after
 * setting the flag at runtime, so an embedder's startBroker() gets idle collections too. Lazily, on
 * the first collection: that context costs memory an idle broker that never grew should not pay.
 * The flag is unset right after, so contexts the embedder creates later do not see a `gc` global.
 */
export function obtainGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  if (runtimeGc) return runtimeGc;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn: unknown = vm.runInNewContext('gc');
    if (typeof fn === 'function') runtimeGc = fn as () => void;
  } catch {
    // No collection then; V8 collects on its own schedule as before.
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return runtimeGc;
}

export class IdleGc {
  /** Set on every read; the tick clears it. A plain field store, the only cost per read. */
  active = false;
  /** Collections run, for tests and the bench. */
  runs = 0;
  private quietTicks = 0;
  /** Decided for the current quiet spell already (collected or found no growth). */
  private settled = false;
  /** `measure()` after the last major collection, or the lowest seen since (V8's own collections lower it). */
  private baseline: number;
  private readonly idleTicks = 2;
  private readonly growthBytes: number;
  private readonly measure: () => number;
  private readonly collect: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: IdleGcOptions = {}) {
    const idleMs = opts.idleMs ?? IDLE_GC_DEFAULTS.idleMs;
    this.growthBytes = opts.growthBytes ?? IDLE_GC_DEFAULTS.growthBytes;
    this.measure = opts.measure ?? oldGenerationBytes;
    this.collect = opts.collect;
    this.baseline = this.measure();
    if (opts.timer !== false) {
      // Two ticks per idle period: idle means two ticks in a row found no read, a quiet spell of idleMs to 1.5x.
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.round(idleMs / this.idleTicks)));
      // Never what keeps the process alive.
      this.timer.unref();
    }
  }

  /** One timer tick; true when it ran a collection. */
  tick(): boolean {
    if (this.active) {
      this.active = false;
      this.quietTicks = 0;
      this.settled = false;
      return false;
    }
    if (++this.quietTicks < this.idleTicks || this.settled) return false;
    this.settled = true;
    const now = this.measure();
    // Lower after a collection V8 ran itself: growth counts from what that one left.
    if (now < this.baseline) this.baseline = now;
    if (now - this.baseline < this.growthBytes) return false;
    const collect = this.collect ?? obtainGc();
    if (!collect) return false;
    collect();
    this.runs++;
    this.baseline = this.measure();
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
