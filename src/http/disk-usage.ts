import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes used by the files under `dir` (allocated blocks where the platform reports them, so sparse
 * index files count what they really take). Files that vanish mid-walk (segments deleted by
 * retention, a topic being deleted) are skipped.
 */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      total += await diskUsage(path);
      continue;
    }
    try {
      const st = await lstat(path);
      total += st.blocks > 0 ? st.blocks * 512 : st.size;
    } catch {
      // gone since readdir
    }
  }
  return total;
}
