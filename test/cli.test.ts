import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { optionsFromCli, UsageError } from '../src/cli-options.js';
import { CLI, startChildBroker } from './helpers/child-broker.js';

describe('optionsFromCli', () => {
  it('uses the documented defaults', () => {
    const o = optionsFromCli([], {});
    expect(o).toMatchObject({ dataDir: './.railyard', host: 'localhost', kafkaPort: 9092, amqpPort: 5672, httpPort: 8080, logLevel: 'info' });
    expect(o.fsync).toBeUndefined();
    expect(optionsFromCli([], { RAILYARD_LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => optionsFromCli(['--log-level', 'loud'], {})).toThrow(/--log-level/);
  });

  it('reads RAILYARD_<FLAG> variables and lets flags win over them', () => {
    const env = { RAILYARD_KAFKA_PORT: '19092', RAILYARD_DATA_DIR: '/tmp/x', RAILYARD_FSYNC: 'always', RAILYARD_HTTP_PORT: '0' };
    expect(optionsFromCli([], env)).toMatchObject({ kafkaPort: 19092, dataDir: '/tmp/x', fsync: 'always', httpPort: 0 });
    expect(optionsFromCli(['--kafka-port', '0', '--fsync', 'never'], env)).toMatchObject({ kafkaPort: 0, fsync: 'never' });
  });

  it('reads a JSON config file below the environment and flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-cli-'));
    try {
      const file = join(dir, 'conf.json');
      writeFileSync(file, JSON.stringify({ amqpPort: 5999, kafka: { defaultPartitions: 3 }, host: '127.0.0.1' }));
      const o = optionsFromCli(['--config', file, '--host', '::1'], { RAILYARD_AMQP_PORT: '6000' });
      expect(o).toMatchObject({ amqpPort: 6000, host: '::1', kafka: { defaultPartitions: 3 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad flags with a UsageError naming them', () => {
    expect(() => optionsFromCli(['--kafka-port', 'abc'], {})).toThrow(/--kafka-port/);
    expect(() => optionsFromCli(['--fsync', 'sometimes'], {})).toThrow(UsageError);
    expect(() => optionsFromCli(['--nope'], {})).toThrow(UsageError);
    expect(() => optionsFromCli(['--config', '/nonexistent/conf.json'], {})).toThrow(/--config/);
  });
});

describe('railyard (process)', () => {
  it('exits 2 with usage on an unknown command or flag', () => {
    const a = spawnSync(process.execPath, [CLI, 'frobnicate'], { encoding: 'utf8' });
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/unknown command/);
    const b = spawnSync(process.execPath, [CLI, 'start', '--kafka-port', '99999'], { encoding: 'utf8' });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--kafka-port/);
  });

  it('prints the ready line, serves every door, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-cli-'));
    try {
      const b = await startChildBroker(['--data-dir', dir, '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0']);
      expect(b.readyLine).toMatch(/^railyard ready kafka=localhost:\d+ amqp=amqp:\/\/localhost:\d+ http=http:\/\/localhost:\d+$/);
      const kafkaPort = Number(b.kafka.split(':').pop());
      // localhost means both loopback families.
      for (const host of ['127.0.0.1', '::1']) {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ host, port: kafkaPort }, () => {
            s.destroy();
            resolve();
          });
          s.on('error', reject);
        });
      }
      const health = await fetch(`${b.http}/health`);
      expect(health.status).toBe(200);
      expect(existsSync(join(dir, 'broker.lock'))).toBe(true);
      b.proc.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      expect(existsSync(join(dir, 'broker.lock'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a data dir held by a running broker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-cli-'));
    try {
      const b = await startChildBroker(['--data-dir', dir, '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0']);
      const second = spawnSync(process.execPath, [CLI, 'start', '--data-dir', dir, '--kafka-port', '0', '--amqp-port', '0', '--http-port', '0'], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(/in use by another Railyard broker/);
      b.proc.kill('SIGINT');
      expect(await b.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
