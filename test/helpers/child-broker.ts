import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');

export interface ChildBroker {
  proc: ChildProcess;
  readyLine: string;
  kafka: string;
  amqp: string;
  http: string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Runs the built CLI (`npm test` builds first) as a separate process and waits for its ready line. */
export function startChildBroker(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<ChildBroker> {
  const proc = spawn(process.execPath, [CLI, 'start', ...args], {
    env: { ...process.env, RAILYARD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`broker not ready in ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('railyard ready '));
      if (!line) return;
      clearTimeout(timer);
      const field = (k: string): string => line.match(new RegExp(` ${k}=(\\S+)`))?.[1] ?? '';
      resolve({ proc, readyLine: line, kafka: field('kafka'), amqp: field('amqp'), http: field('http'), stderr: () => err, exited });
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before ready; stderr: ${err}`));
    });
  });
}

/**
 * Child brokers and data dirs that a test file starts, with `cleanup` for its `afterEach`: brokers
 * still running are SIGKILLed (a crash test may have left one up) and the dirs removed.
 */
export function childBrokerScope(prefix: string): {
  tempDir(): string;
  start(args: string[], env?: NodeJS.ProcessEnv): Promise<ChildBroker>;
  cleanup(): Promise<void>;
} {
  const children: ChildBroker[] = [];
  const dirs: string[] = [];
  return {
    tempDir() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    async start(args, env) {
      const child = await startChildBroker(args, env);
      children.push(child);
      return child;
    },
    async cleanup() {
      for (const c of children.splice(0)) {
        if (c.proc.exitCode === null && c.proc.signalCode === null) {
          c.proc.kill('SIGKILL');
          await c.exited;
        }
      }
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
