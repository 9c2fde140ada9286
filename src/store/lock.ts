import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError } from '../errors.js';

/**
 * One broker per data dir: two processes appending to the same segment files would corrupt them.
 * A lock left by a process that died (kill -9) is taken over, since its pid is gone.
 */
export class DataDirLock {
  private constructor(private readonly path: string) {}

  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, 'broker.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(path, (err as Error).message);
        const holder = Number.parseInt(readLockSafely(path), 10);
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw new DataDirError(dataDir, `is in use by another Railyard broker (pid ${holder})`);
        }
        if (holder === process.pid) {
          throw new DataDirError(dataDir, 'is already in use by a broker in this process');
        }
        try {
          unlinkSync(path);
        } catch {
          // Another starter may have removed it first; the next attempt decides.
        }
      }
    }
    throw new DataDirError(dataDir, 'could not take the broker lock');
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function readLockSafely(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
