/**
 * Process-wide settings of `railyard/cron`: the active logger and the default run coordinator, both
 * replaceable through `setLogger` / `setRunCoordinator` as in node-cron.
 */
import { createLogger } from '../logger.js';
import type { CronLogger, RunCoordinator } from './cron-types.js';

function railyardCronLogger(): CronLogger {
  const log = createLogger().child('cron');
  const fields = (err?: Error) => (err ? { error: err.message } : undefined);
  return {
    info: (m) => log.info(m),
    warn: (m) => log.warn(m),
    error: (m, err) => (m instanceof Error ? log.error(m.message, { stack: m.stack }) : log.error(m, fields(err))),
    debug: (m, err) => (m instanceof Error ? log.debug(m.message) : log.debug(m, fields(err))),
  };
}

let active: CronLogger | undefined;

export function setLogger(logger: CronLogger | undefined): void {
  active = logger;
}

/** Delegates at call time so `setLogger` also affects tasks created before it. */
export const sharedLogger: CronLogger = {
  info: (m) => current().info(m),
  warn: (m) => current().warn(m),
  error: (m, e) => current().error(m, e),
  debug: (m, e) => current().debug(m, e),
};

let fallback: CronLogger | undefined;
function current(): CronLogger {
  if (active) return active;
  fallback ??= railyardCronLogger();
  return fallback;
}

/**
 * node-cron's default for `distributed` tasks without a coordinator: the environment variable
 * NODE_CRON_RUN says whether this instance runs them ('true') or not ('false').
 */
export class EnvVarRunCoordinator implements RunCoordinator {
  constructor(private readonly envName = 'NODE_CRON_RUN') {
    this.read();
  }

  shouldRun(): boolean {
    return this.read();
  }

  private read(): boolean {
    const value = process.env[this.envName];
    if (value !== 'true' && value !== 'false') {
      throw new Error(
        `a \`distributed\` task needs ${this.envName} set to 'true' or 'false', ` +
          'or a coordinator: cron.setRunCoordinator(new SqliteRunCoordinator({ dataDir }))',
      );
    }
    return value === 'true';
  }
}

let globalCoordinator: RunCoordinator | undefined;

export function setRunCoordinator(coordinator: RunCoordinator | undefined): void {
  globalCoordinator = coordinator;
}

export function resolveRunCoordinator(perTask: RunCoordinator | undefined): RunCoordinator {
  return perTask ?? globalCoordinator ?? new EnvVarRunCoordinator();
}
