/**
 * Per-partition state of idempotent and transactional producers: the epoch and last sequence of each
 * producer id with the offsets of its last few batches (to answer retries of a batch already stored),
 * the transactions still open (they hold back the last stable offset) and the aborted ones (read_committed
 * consumers need them to drop aborted records).
 */
import { LogError, LogErrorCode, type AbortedTransaction } from './types.js';

/** Kafka keeps the last 5 batches per producer: clients have at most 5 requests in flight. */
const RECENT = 5;
const INT32_MAX = 2147483647;

export interface BatchMeta {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  lastSeq: number;
  recent: BatchMeta[];
  /** Wall-clock time of its last batch, for expiry (Kafka's producer.id.expiration.ms). */
  lastSeen: number;
}

export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** Records in the batch minus one. */
  lastOffsetDelta: number;
  transactional: boolean;
  /** For control batches: the marker kind. */
  control: 'commit' | 'abort' | null;
}

export interface AbortedRange extends AbortedTransaction {
  lastOffset: number;
}

interface Snapshot {
  offset: number;
  producers: [number, number, number, BatchMeta[], number?][];
  ongoing: [number, number][];
  aborted: [number, number, number][];
}

function nextSeq(seq: number, delta: number): number {
  const n = seq + delta;
  return n > INT32_MAX ? n - INT32_MAX - 1 : n;
}

export class ProducerState {
  private producers = new Map<number, ProducerEntry>();
  /** producerId → first offset of its open transaction. */
  private ongoing = new Map<number, number>();
  /** Ordered by lastOffset (markers are appended in offset order). */
  private aborted: AbortedRange[] = [];

  /**
   * Checks a batch against the stored state (and `overlay`, the batches before it in the same append).
   * Returns the stored batch it duplicates, or null; throws the Kafka error for a bad sequence/epoch.
   */
  check(b: ProducerBatch, overlay: ReadonlyMap<number, { epoch: number; lastSeq: number }>): BatchMeta | null {
    if (b.producerId < 0) return null;
    const stored = this.producers.get(b.producerId);
    const cur = overlay.get(b.producerId) ?? (stored ? { epoch: stored.epoch, lastSeq: stored.lastSeq } : undefined);
    if (cur && b.producerEpoch < cur.epoch) {
      throw new LogError(LogErrorCode.INVALID_PRODUCER_EPOCH, `producer ${b.producerId} epoch ${b.producerEpoch} is older than ${cur.epoch}`);
    }
    if (b.control !== null || b.baseSequence < 0) return null;
    if (stored && !overlay.has(b.producerId) && stored.epoch === b.producerEpoch) {
      const lastSeq = nextSeq(b.baseSequence, b.lastOffsetDelta);
      const dup = stored.recent.find((m) => m.firstSeq === b.baseSequence && m.lastSeq === lastSeq);
      if (dup) return dup;
    }
    if (!cur) return null; // unknown producer: accepted whatever its first sequence (Kafka 2.5+)
    if (b.producerEpoch > cur.epoch) {
      if (b.baseSequence !== 0) {
        throw new LogError(LogErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${b.producerId}: new epoch ${b.producerEpoch} must start at sequence 0, got ${b.baseSequence}`);
      }
      return null;
    }
    const expected = cur.lastSeq < 0 ? 0 : nextSeq(cur.lastSeq, 1);
    if (b.baseSequence !== expected) {
      throw new LogError(LogErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${b.producerId}: expected sequence ${expected}, got ${b.baseSequence}`);
    }
    return null;
  }

  /** What `check` needs to see of a batch once it is accepted, for the next batch of the same append. */
  static overlayAfter(b: ProducerBatch, overlay: Map<number, { epoch: number; lastSeq: number }>, prev?: { epoch: number; lastSeq: number }): void {
    if (b.producerId < 0) return;
    const isData = b.control === null && b.baseSequence >= 0;
    const epochChanged = !prev || prev.epoch !== b.producerEpoch;
    overlay.set(b.producerId, {
      epoch: b.producerEpoch,
      lastSeq: isData ? nextSeq(b.baseSequence, b.lastOffsetDelta) : epochChanged ? -1 : prev.lastSeq,
    });
  }

  current(producerId: number): { epoch: number; lastSeq: number } | undefined {
    const e = this.producers.get(producerId);
    return e ? { epoch: e.epoch, lastSeq: e.lastSeq } : undefined;
  }

  /** Records a stored batch (at append time and when rebuilding from the log). */
  apply(b: ProducerBatch, firstOffset: number, lastOffset: number, now = Date.now()): void {
    if (b.producerId < 0) return;
    let e = this.producers.get(b.producerId);
    if (!e) {
      e = { epoch: b.producerEpoch, lastSeq: -1, recent: [], lastSeen: now };
      this.producers.set(b.producerId, e);
    }
    e.lastSeen = now;
    if (b.producerEpoch !== e.epoch) {
      e.epoch = b.producerEpoch;
      e.lastSeq = -1;
      e.recent = [];
    }
    if (b.control !== null) {
      const first = this.ongoing.get(b.producerId);
      if (first !== undefined) {
        this.ongoing.delete(b.producerId);
        if (b.control === 'abort') this.aborted.push({ producerId: b.producerId, firstOffset: first, lastOffset });
      }
      return;
    }
    if (b.baseSequence >= 0) {
      const lastSeq = nextSeq(b.baseSequence, b.lastOffsetDelta);
      e.lastSeq = lastSeq;
      e.recent.push({ firstSeq: b.baseSequence, lastSeq, firstOffset, lastOffset });
      if (e.recent.length > RECENT) e.recent.shift();
    }
    if (b.transactional && !this.ongoing.has(b.producerId)) this.ongoing.set(b.producerId, firstOffset);
  }

  /** First offset of the oldest open transaction, or null. */
  firstUnstableOffset(): number | null {
    let min: number | null = null;
    for (const first of this.ongoing.values()) if (min === null || first < min) min = first;
    return min;
  }

  /** Aborted transactions overlapping [from, to). */
  abortedIn(from: number, to: number): AbortedTransaction[] {
    const out: AbortedTransaction[] = [];
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < to) out.push({ producerId: a.producerId, firstOffset: a.firstOffset });
    }
    return out;
  }

  /**
   * Forgets producers idle for longer than `maxIdleMs` without an open transaction: a retry after that
   * long is not deduplicated (Kafka does the same after producer.id.expiration.ms, default one day).
   */
  expire(now: number, maxIdleMs: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (now - e.lastSeen > maxIdleMs && !this.ongoing.has(id)) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** Forgets aborted transactions wholly below the log start offset. */
  prune(logStartOffset: number): void {
    let n = 0;
    while (n < this.aborted.length && this.aborted[n]!.lastOffset < logStartOffset) n++;
    if (n > 0) this.aborted.splice(0, n);
  }

  toSnapshot(offset: number): string {
    const snap: Snapshot = {
      offset,
      producers: [...this.producers].map(([id, e]) => [id, e.epoch, e.lastSeq, e.recent, e.lastSeen]),
      ongoing: [...this.ongoing],
      aborted: this.aborted.map((a) => [a.producerId, a.firstOffset, a.lastOffset]),
    };
    return JSON.stringify(snap);
  }

  /** Restores a snapshot; returns the offset it was taken at, or null if it cannot be read. */
  static fromSnapshot(text: string): { state: ProducerState; offset: number } | null {
    try {
      const snap = JSON.parse(text) as Snapshot;
      if (typeof snap.offset !== 'number' || !Array.isArray(snap.producers)) return null;
      const s = new ProducerState();
      const now = Date.now();
      for (const [id, epoch, lastSeq, recent, lastSeen] of snap.producers) s.producers.set(id, { epoch, lastSeq, recent, lastSeen: lastSeen ?? now });
      for (const [id, first] of snap.ongoing) s.ongoing.set(id, first);
      s.aborted = snap.aborted.map(([producerId, firstOffset, lastOffset]) => ({ producerId, firstOffset, lastOffset }));
      return { state: s, offset: snap.offset };
    } catch {
      return null;
    }
  }
}
