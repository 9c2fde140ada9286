import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, DEFAULT_HTTP_URL } from './api-client.js';
import { usageError } from './errors.js';

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every admin command takes. */
const COMMON: OptionSpec = {
  http: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
  help: boolean;
  client: () => ApiClient;
}

export function parseCommand(argv: string[], options: OptionSpec, io: Io): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const values = parsed.values as Parsed['values'];
  const url = (values.http as string | undefined) ?? (io.env.RAILYARD_HTTP || undefined) ?? DEFAULT_HTTP_URL;
  return { values, positionals: parsed.positionals, json: values.json === true, help: values.help === true, client: () => new ApiClient(url) };
}

export function intFlag(values: Parsed['values'], name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw usageError(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
