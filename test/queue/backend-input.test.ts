import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { createRailyardBackend } from '../../src/jobs.js';
import { DataDirError, InvalidArgumentError } from '../../src/errors.js';

describe('Railyard backend input checks', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'railyard-input-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('needs connection.dataDir', () => {
    const err = (() => {
      try {
        new Queue('q', { connection: {} as { dataDir: string } }, createRailyardBackend);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).argument).toBe('connection.dataDir');
  });

  it('refuses a data dir whose railyard.db is not SQLite, and leaves the file alone', () => {
    writeFileSync(join(dataDir, 'railyard.db'), 'definitely not a database, but somebody’s data');
    expect(() => new Queue('q', { connection: { dataDir } }, createRailyardBackend)).toThrow(DataDirError);
    expect(() => new Queue('q', { connection: { dataDir } }, createRailyardBackend)).toThrow(/not an SQLite database/);
  });

  it('refuses options that would store a job that cannot run as asked, storing nothing', async () => {
    const q = new Queue('q', { connection: { dataDir } }, createRailyardBackend);
    const bad: [Record<string, unknown>, string][] = [
      [{ delay: -5 }, 'opts.delay'],
      [{ attempts: 1.5 }, 'opts.attempts'],
      [{ backoff: { delay: 10 } }, 'opts.backoff'],
      [{ backoff: -1 }, 'opts.backoff.delay'],
      [{ deduplication: { id: 'd', ttl: -1 } }, 'opts.deduplication.ttl'],
    ];
    for (const [opts, argument] of bad) {
      const err = await q.add('x', {}, opts).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, argument).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).argument).toBe(argument);
    }
    expect(await q.count()).toBe(0);
    await q.close();
  });
});

