import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch, openPartitionLog } from '../../src/log/index.js';
import { silent, tempDir } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Runs the writer until it has printed `acks` acknowledgements, then SIGKILLs it. */
function runAndKill(dir: string, fsync: string, acks: number): Promise<Map<number, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, fsync], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<number, number>();
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (m) acked.set(Number(m[1]), Number(m[2]));
      }
      if (!killed && acked.size >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

describe('kill -9', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  for (const fsync of ['never', 'always']) {
    it(`every acknowledged batch survives SIGKILL of the writer (fsync ${fsync})`, async () => {
      const acked = await runAndKill(t.dir, fsync, 1500);
      expect(acked.size).toBeGreaterThanOrEqual(1500);
      const p = await openPartitionLog(t.dir, { 'segment.bytes': '65536' }, { logger: silent });
      expect(p.segmentBaseOffsets().length).toBeGreaterThan(3);
      for (const [seq, offset] of acked) {
        expect(offset).toBeLessThan(p.logEndOffset);
        const [b] = decodeRecordBatches(Buffer.concat(p.read(offset, 1).chunks), { verifyCrc: true });
        expect(b!.baseOffset).toBe(offset);
        expect(b!.records[0]!.key!.toString()).toBe(String(seq));
        expect(b!.records[1]!.value!.toString()).toBe(`seq-${seq}-b`);
      }
      // Appends continue right after the recovered end.
      const end = p.logEndOffset;
      expect((await p.append(encodeRecordBatch({ records: [{ value: 'after' }] }))).baseOffset).toBe(end);
      await p.close();
    });
  }
});
