import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export const IN_CI = process.env.CI === 'true';

export const FIXTURES = fileURLToPath(new URL('../fixtures/kafka-clients/', import.meta.url));

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** The first Python that can import `module`: Debian's python3-* packages live under /usr/bin/python3, not a pyenv shim. */
export function findPython(module: string): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (works(py, ['-c', `import ${module}`])) return py;
  }
  return null;
}

export function findKcat(): string | null {
  for (const k of ['kcat', 'kafkacat']) if (works(k, ['-V'])) return k;
  return null;
}

/**
 * Declares the tests of one stock client. Outside CI a missing client skips them with the reason in the
 * title; in CI (CI=true) a missing client is a failing test, never a skip.
 */
export function describeClient(name: string, available: boolean, missing: string, body: () => void): void {
  if (available) {
    describe(name, body);
  } else if (IN_CI) {
    describe(name, () => {
      it('is installed', () => {
        throw new Error(`${missing} (CI=true: a missing client fails the suite)`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${missing})`, body);
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a client command with a hard timeout; `input` goes to its stdin. Rejects with its stderr on failure. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** The last JSON line a fixture script printed. */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
