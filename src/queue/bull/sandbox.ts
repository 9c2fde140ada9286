import { mkdtempSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';

/**
 * The module BullMQ's sandbox loads in each child process for a facade queue's processor files.
 * It runs Bull-style processors on BullMQ's child-side job: picks the file for the job's name
 * (from `handlers.json` next to it, re-read per job so handlers added later are seen), calls
 * `module.exports(job)` or `module.exports(job, done)`, and gives the job Bull's child API:
 * `progress()`/`progress(n)`, `log`, `update`, `discard` (the failure is then final), `timeout`,
 * `preventParsingData` (data as its JSON text).
 * A falsy result is stored as `{}`, as Bull's sandbox does.
 */
const WRAPPER = `'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { promisify } = require('node:util');
const loaded = new Map();
function load(file) {
  let p = loaded.get(file);
  if (!p) {
    p = import(pathToFileURL(file).href).then((m) => {
      let f = m.default !== undefined ? m.default : m;
      if (typeof f !== 'function' && f && typeof f.default === 'function') f = f.default;
      if (typeof f !== 'function') throw new Error('Error loading process file ' + file + '. It does not export a function');
      return f.length > 1 ? promisify(f) : async (job) => f(job);
    });
    loaded.set(file, p);
  }
  return p;
}
module.exports = async function railyardBullProcessor(job) {
  const handlers = JSON.parse(readFileSync(join(__dirname, 'handlers.json'), 'utf8'));
  const file = handlers[job.name] || handlers['*'];
  if (!file) throw new Error('Missing process handler for job type ' + job.name);
  const run = await load(file);
  let discarded = false;
  let progress = job.progress;
  const bullJob = Object.assign({}, job, {
    data: job.opts && job.opts.preventParsingData ? JSON.stringify(job.data) : job.data,
    progress(value) {
      if (value === undefined) return progress;
      progress = value;
      return job.updateProgress(value);
    },
    log: (row) => job.log(row),
    async update(data) {
      bullJob.data = data;
      await job.updateData(data);
    },
    discard() {
      discarded = true;
    },
  });
  const timeout = job.opts && job.opts.timeout;
  let timer;
  try {
    const work = run(bullJob);
    const result = timeout
      ? await Promise.race([work, new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Promise timed out after ' + timeout + ' milliseconds')), timeout);
        })])
      : await work;
    return result || {};
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // An own 'name' crosses to the parent, where BullMQ reads it as "do not retry".
    if (discarded) e.name = 'UnrecoverableError';
    throw e;
  } finally {
    clearTimeout(timer);
  }
};
`;

/** A facade queue's processor files: the wrapper module BullMQ sandboxes, and its handler map. */
export class SandboxFiles {
  private readonly dir = mkdtempSync(join(tmpdir(), 'railyard-bull-'));
  private readonly handlers: Record<string, string> = {};
  readonly wrapper = join(this.dir, 'processor.cjs');

  constructor() {
    writeFileSync(this.wrapper, WRAPPER);
    this.write();
  }

  /** Resolves `file` (relative to the working directory, as Bull's `require` would from there). */
  static resolve(file: string): string {
    const path = resolve(file);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new InvalidArgumentError('handler', file, 'a function or the path of an existing processor file');
    }
    return path;
  }

  add(name: string, file: string): void {
    this.handlers[name] = file;
    this.write();
  }

  private write(): void {
    writeFileSync(join(this.dir, 'handlers.json'), JSON.stringify(this.handlers));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
