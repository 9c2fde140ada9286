import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { runAdminCommand, type Io } from '../../src/cli/index.js';
import { CLI } from '../helpers/child-broker.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`npm test` builds first) asynchronously, so a broker in this test process keeps
 * answering its HTTP calls meanwhile.
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(opts.input ?? '');
  });
}

/** Runs an admin command in this process (same code path as the binary after dispatch), faster than a spawn. */
export async function runAdmin(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([Buffer.from(opts.input ?? '')]),
    env: { ...opts.env },
  };
  const code = await runAdminCommand(args[0]!, args.slice(1), io);
  return { code, stdout, stderr };
}
