/** Base class for errors Railyard throws on purpose. */
export class RailyardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An API argument or option was invalid; `argument` names it (e.g. `kafkaPort`, `opts.delay`). */
export class InvalidArgumentError extends RailyardError {
  readonly argument: string;
  readonly value: unknown;
  constructor(argument: string, value: unknown, expectation: string) {
    super(`invalid ${argument}: ${describe(value)} (${expectation})`);
    this.argument = argument;
    this.value = value;
  }
}

/** The data directory or a file in it cannot be used (foreign file, corrupt database, locked). */
export class DataDirError extends RailyardError {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
