import type { Io } from './args.js';
import { consumeCommand, CONSUME_USAGE } from './consume.js';
import { CliError, ExitCode } from './errors.js';
import { groupsCommand, GROUPS_USAGE } from './groups.js';
import { jobsCommand, JOBS_USAGE } from './jobs.js';
import { takeDataDir, withLocalBroker } from './local-broker.js';
import { produceCommand, PRODUCE_USAGE } from './produce.js';
import { queuesCommand, QUEUES_USAGE } from './queues.js';
import { schedulesCommand, SCHEDULES_USAGE } from './schedules.js';
import { topicsCommand, TOPICS_USAGE } from './topics.js';

export type { Io } from './args.js';
export { ExitCode } from './errors.js';

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = {
  topics: topicsCommand,
  groups: groupsCommand,
  produce: produceCommand,
  consume: consumeCommand,
  jobs: jobsCommand,
  schedules: schedulesCommand,
  queues: queuesCommand,
};

export const ADMIN_USAGE = `Admin commands talk to a running broker's HTTP API:
  --http URL   the broker's HTTP address (default http://localhost:8080, or RAILYARD_HTTP);
               with users configured, give them in the URL: http://USER:PASSWORD@HOST:PORT
  --data-dir D work on data dir D directly when no broker runs on it (opens it in this process)
  --json       machine-readable output
Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found.

${TOPICS_USAGE}
${GROUPS_USAGE}
${PRODUCE_USAGE}
${CONSUME_USAGE}
${JOBS_USAGE}
${SCHEDULES_USAGE}
${QUEUES_USAGE}`;

export function isAdminCommand(cmd: string): boolean {
  return Object.hasOwn(COMMANDS, cmd);
}

/** Runs one admin command; every failure becomes a line on stderr and its exit code. */
export async function runAdminCommand(cmd: string, argv: string[], io: Io): Promise<number> {
  const command = COMMANDS[cmd];
  if (!command) {
    io.stderr.write(`railyard: unknown command ${JSON.stringify(cmd)}\n`);
    return ExitCode.USAGE;
  }
  try {
    const { dataDir, rest } = takeDataDir(argv);
    if (dataDir === undefined) return await command(argv, io);
    if (rest.some((a) => a === '--http' || a.startsWith('--http='))) throw new CliError('give either --data-dir or --http, not both', ExitCode.USAGE);
    return await withLocalBroker(dataDir, (url) => command(rest, { ...io, env: { ...io.env, RAILYARD_HTTP: url } }));
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`railyard ${cmd}: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`railyard ${cmd}: ${(err as Error)?.stack ?? String(err)}\n`);
    return ExitCode.FAILURE;
  }
}
