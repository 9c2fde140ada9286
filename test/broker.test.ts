import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, InvalidArgumentError, DataDirError } from '../src/index.js';

describe('startBroker', () => {
  it('starts on free ports with a temporary data dir that stop() removes', async () => {
    const b = await startBroker();
    try {
      expect(b.kafka.bootstrap).toMatch(/^localhost:\d+$/);
      expect(b.amqp.url).toMatch(/^amqp:\/\/localhost:\d+$/);
      expect(b.http.url).toMatch(/^http:\/\/localhost:\d+$/);
      expect(existsSync(b.dataDir)).toBe(true);
      const ready = await fetch(`${b.http.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', storage: true, doors: { kafka: true, amqp: true } });
      const missing = await fetch(`${b.http.url}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: 'not_found' });
    } finally {
      await b.stop();
    }
    expect(existsSync(b.dataDir)).toBe(false);
  });

  it('runs several brokers in one process', async () => {
    const [a, b] = await Promise.all([startBroker(), startBroker()]);
    try {
      expect(a.kafka.port).not.toBe(b.kafka.port);
      expect(a.dataDir).not.toBe(b.dataDir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('keeps a given data dir and refuses a second broker on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-broker-'));
    try {
      const a = await startBroker({ dataDir: dir });
      await expect(startBroker({ dataDir: dir })).rejects.toBeInstanceOf(DataDirError);
      await a.stop();
      expect(existsSync(join(dir, 'railyard.db'))).toBe(true);
      const again = await startBroker({ dataDir: dir });
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates a data dir that does not exist yet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-broker-'));
    try {
      const b = await startBroker({ dataDir: join(dir, 'nested', 'data') });
      await b.stop();
      expect(existsSync(join(dir, 'nested', 'data', 'railyard.db'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('throws typed errors naming the bad option', async () => {
    await expect(startBroker({ kafkaPort: -1 })).rejects.toMatchObject({ argument: 'kafkaPort' });
    await expect(startBroker({ fsync: 'sometimes' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(startBroker({ kafka: { defaultPartitions: 0 } })).rejects.toMatchObject({ argument: 'kafka.defaultPartitions' });
  });

  it('refuses a foreign file where the database belongs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-broker-'));
    try {
      writeFileSync(join(dir, 'railyard.db'), 'this is not a database, and it must survive');
      await expect(startBroker({ dataDir: dir })).rejects.toThrow(/not an SQLite database/);
      expect(existsSync(join(dir, 'railyard.db'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
