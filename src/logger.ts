/** One line per event: `2026-11-29T12:00:00.000Z INFO  kafka  listening on 127.0.0.1:9092`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export function isLogLevel(v: string): v is LogLevel {
  return v in RANK;
}

function formatFields(fields?: Record<string, unknown>): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
    out += ` ${k}=${/\s/.test(s) ? JSON.stringify(s) : s}`;
  }
  return out;
}

export function createLogger(
  level: LogLevel = defaultLogLevel(),
  component = 'railyard',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${component.padEnd(8)} ${msg}${formatFields(fields)}`);
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => createLogger(level, c, write),
  };
}

/**
 * Embedded in a program or a test suite (`startBroker()`), only warnings and errors are printed;
 * the CLI asks for `info` itself. RAILYARD_LOG_LEVEL overrides both.
 */
export function defaultLogLevel(): LogLevel {
  const env = process.env.RAILYARD_LOG_LEVEL;
  if (env && isLogLevel(env)) return env;
  if (process.env.VITEST || process.env.JEST_WORKER_ID || process.env.NODE_TEST_CONTEXT) return 'silent';
  return 'warn';
}
