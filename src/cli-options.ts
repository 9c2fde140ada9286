import { parseArgs } from 'node:util';
import { CLI_DEFAULTS, readConfigFile, type BrokerOptions } from './config.js';
import { RailyardError } from './errors.js';
import { isLogLevel } from './logger.js';

export const USAGE = `Usage: railyard start [options]

Options (each also read from RAILYARD_<FLAG>, e.g. RAILYARD_KAFKA_PORT; flags win over the
environment, the environment over --config):
  --data-dir DIR            data directory (default ./.railyard)
  --host H                  interface to listen on (default localhost = 127.0.0.1 and ::1)
  --kafka-port N            Kafka port (default 9092; 0 picks a free port)
  --amqp-port N             AMQP port (default 5672)
  --http-port N             HTTP port (default 8080)
  --fsync always|interval|never   log fsync policy (default interval, every second)
  --config FILE             JSON file with any BrokerOptions (users, topic defaults, ...)
  --log-level L             debug|info|warn|error|silent (default info)
  -h, --help                this text
  -v, --version             print the version
`;

const FLAGS = ['data-dir', 'host', 'kafka-port', 'amqp-port', 'http-port', 'fsync', 'config', 'log-level'] as const;
type Flag = (typeof FLAGS)[number];

/** Bad command line: exit code 2 and the usage text. */
export class UsageError extends RailyardError {}

function envName(flag: Flag): string {
  return `RAILYARD_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function parsePort(flag: Flag, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`--${flag} must be a port number 0-65535, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Flags > environment > config file > CLI defaults. */
export function optionsFromCli(argv: string[], env: NodeJS.ProcessEnv): BrokerOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Partial<Record<Flag, string>>;
  const get = (f: Flag): string | undefined => values[f] ?? (env[envName(f)] || undefined);
  const configPath = get('config');
  const fromFile: BrokerOptions = configPath ? readConfigFile(configPath) : {};
  const opts: BrokerOptions = {
    ...fromFile,
    dataDir: get('data-dir') ?? fromFile.dataDir ?? CLI_DEFAULTS.dataDir,
    host: get('host') ?? fromFile.host ?? CLI_DEFAULTS.host,
  };
  const ports = [
    ['kafka-port', 'kafkaPort'],
    ['amqp-port', 'amqpPort'],
    ['http-port', 'httpPort'],
  ] as const;
  for (const [flag, key] of ports) {
    const v = get(flag);
    opts[key] = v !== undefined ? parsePort(flag, v) : (fromFile[key] ?? CLI_DEFAULTS[key]);
  }
  const fsync = get('fsync');
  if (fsync !== undefined) {
    if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') {
      throw new UsageError(`--fsync must be always, interval or never, got ${JSON.stringify(fsync)}`);
    }
    opts.fsync = fsync;
  }
  const level = get('log-level') ?? fromFile.logLevel ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be debug, info, warn, error or silent, got ${JSON.stringify(level)}`);
  opts.logLevel = level;
  return opts;
}
