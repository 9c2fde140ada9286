import { existsSync, statSync } from 'node:fs';
import { RailyardError } from '../errors.js';
import { CliError, ExitCode, usageError } from './errors.js';

/**
 * Splits `--data-dir DIR` (or `--data-dir=DIR`) out of an admin command's arguments. With it, the
 * command works on that data dir directly instead of a running broker's HTTP API.
 */
export function takeDataDir(argv: readonly string[]): { dataDir: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir') {
      const v = argv[i + 1];
      if (v === undefined || v === '') throw usageError('--data-dir needs a directory');
      dataDir = v;
      i++;
    } else if (a.startsWith('--data-dir=')) {
      dataDir = a.slice('--data-dir='.length);
      if (dataDir === '') throw usageError('--data-dir needs a directory');
    } else {
      rest.push(a);
    }
  }
  return { dataDir, rest };
}

/**
 * Runs `fn` against a broker opened on `dataDir` inside this process, on loopback ports picked by
 * the OS, and stops it afterwards. The data dir lock makes this refuse a dir a running broker holds,
 * so two processes never write the same files.
 */
export async function withLocalBroker<T>(dataDir: string, fn: (httpUrl: string) => Promise<T>): Promise<T> {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) throw new CliError(`--data-dir: no such directory ${dataDir}`, ExitCode.NOT_FOUND);
  const { startBroker } = await import('../broker.js');
  let broker;
  try {
    broker = await startBroker({ dataDir, host: '127.0.0.1', kafkaPort: 0, amqpPort: 0, httpPort: 0, logLevel: 'silent' });
  } catch (err) {
    if (err instanceof RailyardError) throw new CliError(`${err.message}; while a broker runs, use --http to reach it`);
    throw err;
  }
  try {
    return await fn(broker.http.url);
  } finally {
    await broker.stop();
  }
}
