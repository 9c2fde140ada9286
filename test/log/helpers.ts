import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { openLogStore, type RailyardLogStore, encodeRecordBatch, type RecordInput } from '../../src/log/index.js';
import type { FsyncPolicy } from '../../src/config.js';

export function tempDir(prefix = 'railyard-log-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openStore(
  dataDir: string,
  opts: { fsync?: FsyncPolicy; topicDefaults?: Record<string, string>; tailCacheBytes?: number } = {},
): Promise<RailyardLogStore & { closeAll: () => Promise<void> }> {
  const db = openDatabase(dataDir);
  const store = await openLogStore({
    dataDir,
    db,
    fsync: opts.fsync ?? 'never',
    fsyncIntervalMs: 1000,
    topicDefaults: opts.topicDefaults ?? {},
    logger: createLogger('silent'),
    tailCacheBytes: opts.tailCacheBytes,
  });
  return Object.assign(store, {
    closeAll: async () => {
      await store.close();
      db.close();
    },
  });
}

export function batchOf(values: string[], opts: Partial<Parameters<typeof encodeRecordBatch>[0]> = {}): Buffer {
  const records: RecordInput[] = values.map((v, i) => ({ key: `k${i}`, value: v, headers: [{ key: 'h', value: 'x' }], timestamp: opts.records?.[i]?.timestamp }));
  return encodeRecordBatch({ ...opts, records: opts.records ?? records });
}

export const silent = createLogger('silent');
