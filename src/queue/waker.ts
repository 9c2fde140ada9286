import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync, watch, writeSync, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * Wakes waiting workers and event readers when something changes, in this process and in
 * others sharing the data dir, without polling.
 *
 * In this process a signal is a synchronous EventEmitter call. Across processes each topic has
 * a one-byte file under `<dataDir>/jobs-wake/`; a signalling process overwrites that byte and
 * every process waiting on the topic holds an `fs.watch` (inotify on Linux) on it, so the
 * kernel delivers the wake-up and an idle process uses no CPU. Writes are coalesced to one per
 * topic per microtask turn, so an addBulk of 1000 jobs costs one write, and to at most one per
 * topic per {@link WRITE_GAP_MS}: a producer adding one by one would otherwise pay a write per
 * add (a syscall, a sizeable share of a ~50 µs add) to save other processes well under the 20 ms
 * they may take to notice. A signal inside the gap is written when the gap ends.
 */
const WRITE_GAP_MS = 1;

export class Waker {
  private readonly local = new EventEmitter();
  private readonly dir: string;
  private readonly fds = new Map<string, number>();
  private readonly watchers = new Map<string, { watcher: FSWatcher | null; users: number }>();
  private readonly files = new Map<string, string>();
  private readonly pending = new Set<string>();
  private flushScheduled = false;
  private readonly lastWrite = new Map<string, number>();
  private trailing: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly byte = Buffer.from([0x2a]);

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'jobs-wake');
    mkdirSync(this.dir, { recursive: true });
    this.local.setMaxListeners(0);
  }

  /** Wakes every waiter on `topic`, here at once and in other processes shortly after. */
  signal(topic: string): void {
    if (this.closed) return;
    this.local.emit(topic);
    this.pending.add(topic);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Calls `listener` on each signal of `topic` (from any process) until the returned function is called. */
  subscribe(topic: string, listener: () => void): () => void {
    this.local.on(topic, listener);
    this.ensureWatch(topic);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.local.off(topic, listener);
      this.releaseWatch(topic);
    };
  }

  close(): void {
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = undefined;
    // Signals still held back by the gap go out now: other processes must not wait for their
    // block timeout because this one closed.
    this.flush(true);
    this.closed = true;
    for (const w of this.watchers.values()) w.watcher?.close();
    this.watchers.clear();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.local.removeAllListeners();
  }

  private file(topic: string): string {
    let f = this.files.get(topic);
    if (!f) {
      // Queue names may hold any character; a hash gives a safe, bounded file name.
      f = join(this.dir, createHash('sha1').update(topic).digest('hex'));
      this.files.set(topic, f);
    }
    return f;
  }

  private fd(topic: string): number {
    let fd = this.fds.get(topic);
    if (fd === undefined) {
      fd = openSync(this.file(topic), 'w');
      this.fds.set(topic, fd);
    }
    return fd;
  }

  private flush(force = false): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const now = performance.now();
    let held: number | undefined;
    for (const topic of this.pending) {
      const last = this.lastWrite.get(topic);
      if (!force && last !== undefined && now - last < WRITE_GAP_MS) {
        held = Math.min(held ?? Infinity, last + WRITE_GAP_MS - now);
        continue;
      }
      this.pending.delete(topic);
      this.lastWrite.set(topic, now);
      try {
        writeSync(this.fd(topic), this.byte, 0, 1, 0);
      } catch {
        // A wake-up file that cannot be written only delays other processes until their
        // block timeout; the job itself is already committed.
      }
    }
    if (held !== undefined && !this.trailing) {
      this.trailing = setTimeout(() => {
        this.trailing = undefined;
        this.flush();
      }, Math.ceil(held));
    }
  }

  private ensureWatch(topic: string): void {
    const existing = this.watchers.get(topic);
    if (existing) {
      existing.users++;
      return;
    }
    let watcher: FSWatcher | null = null;
    try {
      this.fd(topic); // the file must exist before it can be watched
      watcher = watch(this.file(topic), { persistent: false }, () => this.local.emit(topic));
      watcher.on('error', () => {
        // Without the watcher other processes' signals arrive at the next block timeout.
      });
    } catch {
      watcher = null;
    }
    this.watchers.set(topic, { watcher, users: 1 });
  }

  private releaseWatch(topic: string): void {
    const w = this.watchers.get(topic);
    if (!w) return;
    if (--w.users > 0) return;
    w.watcher?.close();
    this.watchers.delete(topic);
  }
}
