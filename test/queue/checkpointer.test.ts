import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/child-broker.js';

// In a process started with `--input-type=module` (as `node -e` scripts and some runners are), the
// checkpoint thread used to inherit that flag, fail on its first line, and leave `stop()` waiting
// for an exit that had already happened: closing the store hung.
const SCRIPT = (dbPath: string): string => `
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
const Database = createRequire(${JSON.stringify(join(REPO_ROOT, 'package.json'))})('better-sqlite3');
const { Checkpointer } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'queue', 'checkpointer.js'))});
const db = new Database(${JSON.stringify(dbPath)});
db.pragma('journal_mode = WAL');
db.pragma('wal_autocheckpoint = 0');
db.exec('CREATE TABLE t (v BLOB)');
const insert = db.prepare('INSERT INTO t VALUES (?)');
for (let i = 0; i < 200; i++) insert.run(Buffer.alloc(1000));
const before = statSync(${JSON.stringify(dbPath)}).size;
const c = new Checkpointer(${JSON.stringify(dbPath)}, 10);
c.dirty();
let after = before;
for (let i = 0; i < 100 && after === before; i++) {
  await new Promise((r) => setTimeout(r, 20));
  after = statSync(${JSON.stringify(dbPath)}).size;
}
const stopped = await Promise.race([c.stop().then(() => true), new Promise((r) => setTimeout(() => r(false), 5000).unref())]);
db.close();
console.log(JSON.stringify({ grew: after > before, stopped }));
`;

describe('checkpointer', () => {
  it('checkpoints and stops in a process started with --input-type=module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-ckpt-'));
    try {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT(join(dir, 'db.sqlite'))], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ grew: true, stopped: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
