// The Node flags in the shebang of dist/cli.js (`#!/usr/bin/env -S node …`). An installed
// `railyard start` runs with them (the young-generation sizes change latency, CPU and RSS), so a
// bench that spawns `node dist/cli.js` passes them too, to measure what users run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function cliNodeFlags(root) {
  const first = readFileSync(join(root, 'dist', 'cli.js'), 'utf8').split('\n', 1)[0];
  return first.startsWith('#!') ? first.split(/\s+/).filter((w) => w.startsWith('--')) : [];
}
