import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/store/sqlite.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/open-at.ts', import.meta.url));

function openAt(dataDir: string, at: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dataDir, String(at)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', () => resolve(out.trim()));
  });
}

describe('openDatabase', () => {
  const fresh = useTempDirs('railyard-open-');

  it('opens a new data dir from several processes at the same moment, each with the settings it needs', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = fresh();
      // Far enough ahead for four processes to start and wait for it.
      const at = Date.now() + 1500;
      const outs = await Promise.all([0, 1, 2, 3].map(() => openAt(dir, at)));
      expect(outs).toEqual(['ok', 'ok', 'ok', 'ok']);
      const db = openDatabase(dir);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('page_size', { simple: true })).toBe(2048);
      db.close();
    }
  }, 30_000);
});
