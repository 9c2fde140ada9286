import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

/**
 * Checkpoints the WAL from a worker thread with its own connection, so the fsyncs a checkpoint
 * needs never run inside a job operation's COMMIT on the event loop. The job store's own
 * connection then checkpoints only as a safety net, when the WAL has grown far past what this
 * thread keeps it at (e.g. while a long reader pins it).
 *
 * PASSIVE checkpoints never block writers or readers; several processes may each run one.
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(dbPath: string, intervalMs = 250) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(SOURCE, { eval: true, workerData: { path: dbPath, driver, intervalMs } });
    // A checkpointer must never keep the process alive or take it down.
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  stop(): void {
    this.worker.postMessage('stop');
  }
}
