#!/usr/bin/env -S node --max-semi-space-size=8 --min-semi-space-size=4
// Young generation bounds, chosen by AMQP scenario (d)'s p99 (5k msg/s, bench/amqp/compare.ts):
// - at least 4 MB: V8 shrinks it to 1 MB whenever the allocation rate dips (an idle spell), and a
//   1 MB one was scavenged every ~200 ms (30-33 a round, p99 0.7-1.0 ms); 4 MB: ~8 a round;
// - at most 8 MB: once it had grown to 32 MB (startup grows it), more new space than the old
//   generation's headroom made V8 start incremental marking from a task every ~3 s with the old
//   generation at 14 of 37 MB: a 3-6 ms mark-compact each time. Throughput (a) and (c) were the same
//   with 8 as with 32. A fixed 8 MB (min 8) brought mark-compacts back in 4 of 6 rounds.
import { readFileSync } from 'node:fs';
import { startBroker } from './broker.js';
import { RailyardError } from './errors.js';
import { optionsFromCli, UsageError, USAGE } from './cli-options.js';

// The admin commands (./cli/index.js and its modules) are imported only when one runs or help is
// printed: `railyard start` never needs them, and loading them cost ~1 MB of idle broker RSS.
const adminCommands = () => import('./cli/index.js');

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function start(argv: string[]): Promise<void> {
  const broker = await startBroker(optionsFromCli(argv, process.env));
  process.stdout.write(broker.readyLine + '\n');
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      process.stderr.write(`railyard: ${sig} again, exiting without waiting\n`);
      process.exit(130);
    }
    broker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`railyard: error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n${(await adminCommands()).ADMIN_USAGE}`);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '-v' || cmd === '--version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  if (cmd === 'start') {
    if (rest.includes('-h') || rest.includes('--help')) {
      process.stdout.write(USAGE);
      return 0;
    }
    await start(rest);
    return -1; // keeps running until a signal
  }
  const admin = await adminCommands();
  if (admin.isAdminCommand(cmd)) {
    return admin.runAdminCommand(cmd, rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
  }
  process.stderr.write(`railyard: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`railyard: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof RailyardError) {
      process.stderr.write(`railyard: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`railyard: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
