import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../../src/broker.js';
import { runAdmin, runCli } from './run-cli.js';

describe('admin commands on a data dir without a running broker', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'railyard-cli-dd-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a topic, produces, consumes and lists straight from the data dir', async () => {
    expect((await runCli(['topics', 'create', 'offline', '--partitions', '2', '--data-dir', dir])).code).toBe(0);
    expect((await runAdmin(['produce', 'offline', '--partition', '1', `--data-dir=${dir}`], { input: 'x\ny\n' })).code).toBe(0);
    const list = await runAdmin(['topics', 'list', '--data-dir', dir]);
    expect(list.stdout).toMatch(/^offline\s+2\s+2\s/m);
    expect((await runAdmin(['consume', 'offline', '--data-dir', dir])).stdout).toBe('x\ny\n');
  });

  it('refuses a data dir a running broker holds (exit 1), a missing dir (exit 3), and --http with it (exit 2)', async () => {
    const broker = await startBroker({ dataDir: dir, host: '127.0.0.1', logLevel: 'silent' });
    try {
      const held = await runAdmin(['topics', 'list', '--data-dir', dir]);
      expect(held.code).toBe(1);
      expect(held.stderr).toMatch(/in use.*use --http/);
    } finally {
      await broker.stop();
    }
    expect((await runAdmin(['topics', 'list', '--data-dir', join(dir, 'nope')])).code).toBe(3);
    expect((await runAdmin(['topics', 'list', '--data-dir', dir, '--http', 'http://127.0.0.1:1'])).code).toBe(2);
    expect((await runAdmin(['topics', 'list', '--data-dir'])).code).toBe(2);
  });
});
