/** Background work of a set of partitions: the `interval` fsync timer and the periodic retention check. */
import type { FsyncPolicy } from '../config.js';
import type { Logger } from '../logger.js';
import type { Partition } from './partition.js';

export interface MaintenanceOptions {
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  retentionCheckIntervalMs: number;
  logger: Logger;
  partitions: () => Iterable<Partition>;
}

/** Starts the timers (unref'd: they never keep the process alive); returns a function stopping them. */
export function startMaintenance(opts: MaintenanceOptions): () => void {
  const timers: NodeJS.Timeout[] = [];
  if (opts.fsync === 'interval') {
    let running = false;
    timers.push(
      setInterval(() => {
        if (running) return;
        running = true;
        const all = [...opts.partitions()].map((p) => p.syncDirty());
        Promise.all(all)
          .catch((err: unknown) => opts.logger.error('periodic fsync failed', { err }))
          .finally(() => {
            running = false;
          });
      }, opts.fsyncIntervalMs),
    );
  }
  timers.push(
    setInterval(() => {
      for (const p of opts.partitions()) {
        try {
          p.enforceRetention();
        } catch (err) {
          opts.logger.error('retention check failed', { dir: p.dir, err });
        }
      }
    }, opts.retentionCheckIntervalMs),
  );
  for (const t of timers) t.unref();
  return () => {
    for (const t of timers) clearInterval(t);
  };
}
