import { access, constants } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { BrokerContext, Door } from '../context.js';
import type { GroupCoordinator } from '../protocol/kafka/groups/index.js';
import { diskUsage } from './disk-usage.js';
import type { Router } from './router.js';

export interface OverviewDeps {
  ctx: BrokerContext;
  doors: ReadonlyArray<readonly [string, Door]>;
  groups?: GroupCoordinator;
  startedAt: number;
}

/** The package version, read once; the same file sits one level above both src/ and dist/. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Liveness, readiness and the overview the dashboard's first page shows. */
export function addOverviewRoutes(router: Router, deps: OverviewDeps): void {
  const { ctx, doors } = deps;
  // Disk use walks the whole data dir; the dashboard polls every second, so it is sampled every 5 s.
  const DISK_EVERY_MS = 5000;
  let disk = { at: 0, bytes: 0 };

  router.add('GET', '/health', () => ({ status: 200, body: { status: 'ok' } }));

  router.add('GET', '/ready', async () => {
    const listening = Object.fromEntries(doors.map(([name, d]) => [name, d.port > 0]));
    const storage = await writable(ctx.options.dataDir);
    const ready = storage && Object.values(listening).every(Boolean) && !ctx.closing.aborted;
    return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', doors: listening, storage } };
  });

  router.add('GET', '/api/overview', async () => {
    const topics = ctx.log.topics();
    let partitions = 0;
    // Totals over all partitions let the dashboard chart throughput from this one light call.
    let records = 0;
    let sizeBytes = 0;
    for (const t of topics) {
      partitions += t.partitions;
      for (let i = 0; i < t.partitions; i++) {
        const p = ctx.log.partition(t.name, i);
        if (!p) continue;
        records += p.logEndOffset;
        sizeBytes += p.sizeBytes();
      }
    }
    if (Date.now() - disk.at >= DISK_EVERY_MS) disk = { at: Date.now(), bytes: await diskUsage(ctx.options.dataDir) };
    const mem = process.memoryUsage();
    return {
      status: 200,
      body: {
        version: VERSION,
        startedAt: new Date(deps.startedAt).toISOString(),
        uptimeMs: Date.now() - deps.startedAt,
        dataDir: ctx.options.dataDir,
        diskBytes: disk.bytes,
        memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers },
        doors: Object.fromEntries(doors.map(([name, d]) => [name, { port: d.port, connections: d.connectionCount() }])),
        kafka: { topics: topics.length, partitions, groups: deps.groups ? deps.groups.listGroups().length : 0, records, sizeBytes },
      },
    };
  });
}
