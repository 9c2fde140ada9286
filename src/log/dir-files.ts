/** The small metadata files of a partition directory, replaced atomically (write, rename). */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOG_START_FILE = 'log-start-offset';
/** Producer state snapshots are named by the offset they were taken at. */
const SNAPSHOT_NAME = /^(\d{20})\.snapshot$/;
/**
 * Snapshots kept: the newest may be ahead of what survives a crash (taken at a roll whose batches were
 * still being written); the one before it is then used.
 */
const SNAPSHOTS_KEPT = 2;

export function snapshotName(offset: number): string {
  return `${String(offset).padStart(20, '0')}.snapshot`;
}

/** Offsets of the snapshots in `dir`, newest first. */
export function listSnapshots(dir: string): number[] {
  const out: number[] = [];
  for (const f of readdirSync(dir)) {
    const m = SNAPSHOT_NAME.exec(f);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => b - a);
}

/** Writes the snapshot taken at `offset` and removes all but the newest few. */
export function writeSnapshot(dir: string, offset: number, text: string, fsync: boolean): void {
  writeFileAtomic(dir, snapshotName(offset), text, fsync);
  for (const old of listSnapshots(dir).slice(SNAPSHOTS_KEPT)) unlinkSync(join(dir, snapshotName(old)));
}

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

export function readSnapshot(dir: string, offset: number): string {
  return readFileSync(join(dir, snapshotName(offset)), 'utf8');
}
