/** The small metadata files of a partition directory, replaced atomically (write, rename). */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOG_START_FILE = 'log-start-offset';
export const SNAPSHOT_FILE = 'producer-state.json';

/** Replaces `dir/name`: a crash leaves either the old or the new content, never a mix. */
export function writeFileAtomic(dir: string, name: string, text: string, fsync: boolean): void {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  if (fsync) {
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(tmp, path);
  if (fsync) syncDir(dir);
}

/** Makes file creations, renames and deletions in `dir` durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The persisted log start offset, 0 when none was stored (or the file is unreadable). */
export function readLogStartOffset(dir: string): number {
  const path = join(dir, LOG_START_FILE);
  if (!existsSync(path)) return 0;
  const n = Number(readFileSync(path, 'utf8').trim());
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export function readSnapshotFile(dir: string): string | null {
  const path = join(dir, SNAPSHOT_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}
