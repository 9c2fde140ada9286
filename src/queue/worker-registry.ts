import { hostname } from 'node:os';
import type { JobStore } from './store.js';
import { InvalidArgumentError } from '../errors.js';

/** How often a process renews its clients' leases unless `RAILYARD_JOBS_HEARTBEAT_MS` says otherwise. */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** A client is listed until this many heartbeats were missed (its process died or hung). */
const LEASE_HEARTBEATS = 3;

function heartbeatMs(): number {
  const raw = process.env['RAILYARD_JOBS_HEARTBEAT_MS'];
  if (raw === undefined || raw === '') return DEFAULT_HEARTBEAT_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10) {
    throw new InvalidArgumentError('RAILYARD_JOBS_HEARTBEAT_MS', raw, 'an integer number of milliseconds >= 10');
  }
  return n;
}

interface ClientRow {
  id: number;
  name: string;
  pid: number;
  host: string;
  started: number;
  heartbeat: number;
}

/** One listed client (a Worker or QueueEvents): keep it alive with its process, drop it on close. */
export interface Registration {
  rename(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Workers and QueueEvents listeners of every process using a data dir, in `jobs_client`: the
 * SQLite counterpart of Redis's named connections (`CLIENT SETNAME` / `CLIENT LIST`), which is
 * what BullMQ's `getWorkers` and `getQueueEvents` read.
 *
 * A row is a lease: each process renews its rows every heartbeat (one UPDATE for all of them, a
 * timer that does not keep the process alive) and a reader lists only rows whose lease has not
 * run out, so a process killed with SIGKILL drops out after at most LEASE_HEARTBEATS heartbeats
 * of its own. A clean close or exit deletes the rows at once. Nothing polls: between heartbeats
 * an idle process does no work for this.
 */
export class WorkerRegistry {
  private static readonly perStore = new Map<JobStore, WorkerRegistry>();
  private readonly own = new Map<number, { queue: string; name: string }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly interval = heartbeatMs();
  private readonly onExit = (): void => this.dropAllNow();

  private constructor(private readonly store: JobStore) {}

  static of(store: JobStore): WorkerRegistry {
    let r = WorkerRegistry.perStore.get(store);
    if (!r) WorkerRegistry.perStore.set(store, (r = new WorkerRegistry(store)));
    return r;
  }

  /** Lists `name` (BullMQ's client name) under `queue` until the returned registration closes. */
  async register(queue: string, name: string): Promise<Registration> {
    const now = Date.now();
    const id = await this.store.group.run(queue, () =>
      Number(
        this.store
          .stmt('INSERT INTO jobs_client (queue, name, pid, host, started, heartbeat, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(queue, name, process.pid, hostname(), now, now, now + this.lease())
          .lastInsertRowid,
      ),
    );
    this.own.set(id, { queue, name });
    this.start();
    return {
      rename: async (next: string) => {
        const mine = this.own.get(id);
        if (!mine) return;
        mine.name = next;
        await this.store.group.run(queue, () => this.store.stmt('UPDATE jobs_client SET name = ? WHERE id = ?').run(next, id));
      },
      close: async () => {
        if (!this.own.delete(id)) return;
        if (this.own.size === 0) this.stop();
        await this.store.group.run(queue, () => this.store.stmt('DELETE FROM jobs_client WHERE id = ?').run(id));
      },
    };
  }

  /** Redis `CLIENT LIST`-shaped lines for the live clients of `queue`, one per client. */
  static clientList(store: JobStore, queue: string): string {
    const now = Date.now();
    const rows = store
      .stmt('SELECT id, name, pid, host, started, heartbeat FROM jobs_client WHERE queue = ? AND expires_at > ? ORDER BY id')
      .all(queue, now) as ClientRow[];
    // Values must not hold spaces: BullMQ splits a line on them.
    const word = (s: string): string => s.replace(/\s/g, '_');
    return rows
      .map(
        (r) =>
          `id=${r.id} addr=${word(r.host)}:${r.pid} name=${word(r.name)} age=${Math.floor((now - r.started) / 1000)} ` +
          `idle=${Math.floor((now - r.heartbeat) / 1000)} pid=${r.pid} host=${word(r.host)} started=${r.started} heartbeat=${r.heartbeat}`,
      )
      .join('\n');
  }

  private lease(): number {
    return this.interval * LEASE_HEARTBEATS;
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat().catch(() => undefined), this.interval);
    this.timer.unref();
    process.once('exit', this.onExit);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    process.removeListener('exit', this.onExit);
    WorkerRegistry.perStore.delete(this.store);
  }

  /** Renews this process's leases; re-lists a client a reader dropped while this process stalled. */
  private async beat(): Promise<void> {
    if (this.own.size === 0) return;
    const first = this.own.values().next().value as { queue: string };
    await this.store.group.run(first.queue, (_ev, now) => {
      const upsert = this.store.stmt(
        `INSERT INTO jobs_client (id, queue, name, pid, host, started, heartbeat, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat, expires_at = excluded.expires_at`,
      );
      for (const [id, c] of this.own) upsert.run(id, c.queue, c.name, process.pid, hostname(), now, now, now + this.lease());
      // Rows of dead processes, long expired, go away so the table stays small.
      this.store.stmt('DELETE FROM jobs_client WHERE expires_at < ?').run(now - this.lease());
    });
  }

  /** On process exit, while the database is still open: unlist this process's clients now. */
  private dropAllNow(): void {
    try {
      const del = this.store.stmt('DELETE FROM jobs_client WHERE id = ?');
      for (const id of this.own.keys()) del.run(id);
    } catch {
      // The store may already be closed; the leases then run out on their own.
    }
  }
}
