import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

/**
 * Checkpoints the WAL from a worker thread with its own connection, so the fsyncs a checkpoint
 * needs never run inside a job operation's COMMIT on the event loop. The job store's own
 * connection then checkpoints only as a safety net, when the WAL has grown far past what this
 * thread keeps it at (e.g. while a long reader pins it).
 *
 * PASSIVE checkpoints never block writers or readers; several processes may each run one. The
 * thread only wakes after this process has written, so an idle store costs no CPU.
 *
 * Under a steady write load a PASSIVE checkpoint never catches up completely (commits land while
 * it runs), so the WAL is not restarted and grows until the store's connection reaches
 * `wal_autocheckpoint` and finishes the job itself, on the event loop: copying what this thread
 * has not yet copied, then fsyncs. A short interval keeps that remainder small; at 250 ms those
 * stalls (20-50 ms here) set the p99 of delayed-job lateness.
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let timer = null;
// A connection only for the moment of a checkpoint: between checkpoints this thread holds no
// file open, so closing the store (and removing its directory) never races with it.
const checkpoint = () => {
  timer = null;
  try {
    const db = new Database(workerData.path, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 1000');
      db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      db.close();
    }
  } catch {}
};
parentPort.on('message', (m) => {
  if (m === 'dirty') {
    if (!timer) timer = setTimeout(checkpoint, workerData.intervalMs);
    return;
  }
  if (timer) clearTimeout(timer);
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  /** Resolves when the thread has exited, whenever that was (it may fail before `stop`). */
  private readonly exited: Promise<void>;

  constructor(
    dbPath: string,
    private readonly intervalMs = 50,
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // No execArgv of ours: a process started with `--input-type=module` would otherwise make this
    // CommonJS source an ES module, where `require` does not exist.
    this.worker = new Worker(SOURCE, { eval: true, execArgv: [], workerData: { path: dbPath, driver, intervalMs } });
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // A checkpointer must never keep the process alive or take it down.
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  private lastDirty = 0;

  /** Called after commits; a checkpoint follows within the interval. Idle stores cost nothing. */
  dirty(): void {
    const now = Date.now();
    if (now - this.lastDirty < this.intervalMs) return;
    this.lastDirty = now;
    this.worker.postMessage('dirty');
  }

  /** Stops the thread (the store's own connection, closing last, does the final checkpoint). */
  stop(): Promise<void> {
    // Held alive until it is gone, or a closing process would exit with the promise pending.
    this.worker.ref();
    this.worker.postMessage('stop');
    return this.exited;
  }
}
