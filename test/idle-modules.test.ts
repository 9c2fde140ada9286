import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/child-broker.js';

// A fresh process (vitest's own workers load these packages for other reasons), on the built
// broker: an idle broker must not have loaded the packages that cost idle memory (bench/startup.mjs),
// and the first scrape / first batch must load them.
const SCRIPT = `
import { createRequire } from 'node:module';
const { startBroker } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'index.js'))});
const { encodeRecordBatch, decodeRecordBatches } = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'log', 'index.js'))});
const cache = createRequire(import.meta.url).cache;
const loaded = (pkg) => Object.keys(cache).some((k) => k.includes('/node_modules/' + pkg + '/'));
const b = await startBroker();
const idle = { prom: loaded('prom-client'), crc: loaded('@node-rs/crc32') };
const res = await fetch(b.http.url + '/metrics');
const page = await res.text();
const batch = encodeRecordBatch({ records: [{ value: Buffer.from('x') }] });
const [decoded] = decodeRecordBatches(batch, { verifyCrc: true });
console.log(JSON.stringify({ idle, contentType: res.headers.get('content-type'), histogram: page.includes('# TYPE railyard_kafka_request_duration_seconds histogram'),
  prom: loaded('prom-client'), crc: loaded('@node-rs/crc32'), value: decoded.records[0].value.toString() }));
await b.stop();
`;

describe('idle broker', () => {
  it('loads prom-client and @node-rs/crc32 on first use only', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      idle: { prom: false, crc: false },
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      histogram: true,
      prom: true,
      crc: true,
      value: 'x',
    });
  });
});
