// Which pages the retry scenario writes to the WAL, per kind of group commit:
//   node --import tsx bench/jobs/wal-pages.ts [count]
// A reader pinned before the workers start keeps the WAL from being restarted, so every frame
// the phase wrote is still in the file at its end. Each commit is matched with the batch that
// made it (one connection writes, so commits land in batch order) and each page named by the
// b-tree that owned it, at the pinned snapshot and at the end (pages change owners as the
// waiting index shrinks and the finished index grows).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { railyardAdapter } from './adapters.js';
import { GroupCommit } from '../../src/queue/group-commit.js';

process.setSourceMapsEnabled(false);
const count = Number(process.argv[2] ?? '2000');
const a = railyardAdapter();
const q = a.queue('p');
for (let i = 0; i < count; i += 1000) {
  await q.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'x', data: {}, opts: { attempts: 2 } })));
}
await new Promise((r) => setTimeout(r, 300));
const dbFile = join(a.address, 'railyard.db');

const owners = (db: Database.Database): Map<number, string> =>
  new Map((db.prepare('SELECT name, pageno, pagetype FROM dbstat').all() as { name: string; pageno: number; pagetype: string }[]).map((r) => [r.pageno, `${r.name}:${r.pagetype}`]));
const pin = new Database(dbFile);
pin.exec('BEGIN');
const before = owners(pin);
const walStart = readFileSync(`${dbFile}-wal`).length;

/** Kind of each batch, in commit order: its operations by kind, e.g. "claim" or "retry+complete*3". */
const kinds: string[] = [];
const proto = GroupCommit.prototype as unknown as { runBatch: (batch: { fn: () => unknown; traits: { claims?: boolean } }[], ...rest: unknown[]) => unknown };
const orig = proto.runBatch;
proto.runBatch = function (this: unknown, batch, ...rest) {
  if (rest[1] !== true) {
    const c = new Map<string, number>();
    for (const p of batch) {
      const src = p.fn.toString();
      const k = src.includes('claimIn') && !src.includes('COMPLETE') ? 'claim' : src.includes('COMPLETE') ? (p.traits.claims ? 'complete+next' : 'complete') : src.includes('RETRY') ? 'retry' : 'other';
      c.set(k, (c.get(k) ?? 0) + 1);
    }
    kinds.push([...c].sort().map(([k, n]) => (n > 1 ? `${k}*${n}` : k)).join('+'));
  }
  return orig.call(this, batch, ...rest);
};

let done = 0;
const w = a.worker('p', async (job) => {
  if (job.attemptsMade === 0) throw new Error('first try fails');
}, { concurrency: 10 });
w.on('completed', () => done++);
while (done < count) await new Promise((r) => setTimeout(r, 2));
const ops = kinds.length;
const wal = readFileSync(`${dbFile}-wal`);
const after = owners(new Database(dbFile, { readonly: true }));
pin.exec('COMMIT');
pin.close();

const pageSize = wal.readUInt32BE(8);
const frame = 24 + pageSize;
const salt = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
let off = walStart - ((walStart - 32) % frame);
const commits: number[][] = [];
let cur: number[] = [];
for (; off + frame <= wal.length; off += frame) {
  if (wal.readUInt32BE(off + 8) !== salt[0] || wal.readUInt32BE(off + 12) !== salt[1]) break;
  cur.push(wal.readUInt32BE(off));
  if (wal.readUInt32BE(off + 4) !== 0) commits.push(cur), (cur = []);
}
const name = (pg: number): string => {
  const b = before.get(pg) ?? 'new';
  const e = after.get(pg) ?? 'free';
  return b === e ? b : `${b} -> ${e}`;
};
// The first commits of the phase may be other writers' (worker registration): align on the end.
const skip = commits.length - Math.min(commits.length, ops);
const byKind = new Map<string, { n: number; frames: number; pages: Map<string, number> }>();
commits.slice(skip).forEach((pages, i) => {
  const k = kinds[kinds.length - (commits.length - skip) + i] ?? '?';
  let s = byKind.get(k);
  if (!s) byKind.set(k, (s = { n: 0, frames: 0, pages: new Map() }));
  s.n++;
  s.frames += pages.length;
  for (const pg of pages) s.pages.set(name(pg), (s.pages.get(name(pg)) ?? 0) + 1);
});
const frames = commits.reduce((t, c) => t + c.length, 0);
console.log(`${count} jobs: ${commits.length} commits (${ops} batches seen), ${frames} frames, ${(frames / count).toFixed(2)} frames/job, ${(frames / commits.length).toFixed(2)} per commit`);
for (const [k, s] of [...byKind].sort((x, y) => y[1].frames - x[1].frames).slice(0, 12)) {
  console.log(`${k}: ${s.n} commits, ${(s.frames / s.n).toFixed(2)} pages each, ${((s.frames * 100) / frames).toFixed(0)}% of frames`);
  for (const [p, n] of [...s.pages].sort((x, y) => y[1] - x[1]).slice(0, 8)) console.log(`    ${(n / s.n).toFixed(2)}  ${p}`);
}
await w.close();
await a.close();
