#!/usr/bin/env -S node --max-semi-space-size=32 --min-semi-space-size=4
// A larger young generation: at thousands of messages per second the default one is collected several
// times a second, and those pauses were most of the AMQP door's p99 latency (bench/README.md). The
// floor of 4 MB: V8 shrinks the young generation back to 1 MB whenever the allocation rate dips (an
// idle spell), and at 5k msg/s a 1 MB one was scavenged every ~200 ms (AMQP (d) p99 0.7-1.0 ms);
// 4 MB is ~8 collections in 6 s and p99 0.6-0.7 ms, while 16 MB made each round promote enough to
// add two mark-compacts of 5-7 ms.
import { readFileSync } from 'node:fs';
import { startBroker } from './broker.js';
import { RailyardError } from './errors.js';
import { optionsFromCli, UsageError, USAGE } from './cli-options.js';
import { ADMIN_USAGE, isAdminCommand, runAdminCommand } from './cli/index.js';

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
    process.stdout.write(`${USAGE}\n${ADMIN_USAGE}`);
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
  if (isAdminCommand(cmd)) {
    return runAdminCommand(cmd, rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
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
