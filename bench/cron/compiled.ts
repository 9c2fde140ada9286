/**
 * The bench measures compiled JavaScript, as users run it, not code going through tsx's loader (which
 * adds its own per-closure and module-loading costs). `npx tsx bench/cron/run.ts` compiles src and this
 * folder with tsc into node_modules/.cache and re-runs itself there with plain node.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** True when this module runs as tsc output. */
export const isCompiled = import.meta.url.endsWith('.js');

/** A sibling script of this bench, as a path plus the node flags it needs in the current mode. */
export function sibling(name: string): { path: string; execArgv: string[] } {
  const path = fileURLToPath(new URL(`./${name}.${isCompiled ? 'js' : 'ts'}`, import.meta.url));
  return { path, execArgv: isCompiled ? [] : ['--import', 'tsx'] };
}

/** node-cron's internal module with its TimeMatcher (not exported publicly). */
export function nodeCronSharedModule(): string {
  return join(dirname(require.resolve('node-cron')), '_shared.js');
}

/** Compiles the bench and src into the cache directory and returns the compiled entry point. */
export function compileBench(entry: string): string {
  const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const out = join(root, 'node_modules', '.cache', 'railyard-bench-cron');
  const tsc = require.resolve('typescript/bin/tsc');
  const files = ['run', 'memory-child', 'agenda-worker'].map((f) => join(root, 'bench', 'cron', `${f}.ts`));
  try {
    execFileSync(process.execPath, [
      tsc, '--outDir', out, '--rootDir', root, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--strict', '--skipLibCheck', '--types', 'node', '--sourceMap', 'false', '--declaration', 'false', ...files,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // tsc reports type errors in files outside this bench (work in progress elsewhere) but still emits.
    const stdout = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    if (/bench\/cron|src\/(scheduler|cron|agenda)/.test(stdout)) throw new Error(`bench does not compile:\n${stdout}`);
  }
  return join(out, 'bench', 'cron', `${entry}.js`);
}
