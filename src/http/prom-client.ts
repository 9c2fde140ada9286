import { createRequire } from 'node:module';
import type { Histogram, Registry } from 'prom-client';

type PromClient = typeof import('prom-client');
let loaded: PromClient | undefined;

/**
 * prom-client, loaded on first use (the first histogram observation or /metrics scrape): an idle
 * broker never needs it, and importing it at startup cost ~5 MB of resident memory (its JS plus the
 * CJS-to-ESM translation). `require` keeps the load synchronous, so observers need not wait.
 */
export function promClient(): PromClient {
  return (loaded ??= createRequire(import.meta.url)('prom-client') as PromClient);
}

/** A histogram of one labelled duration (seconds, `buckets`), registered in `registry` alone. */
export function labelledHistogram<L extends string>(registry: Registry, name: string, help: string, label: L, buckets: number[]): Histogram<L> {
  return new (promClient().Histogram)({ name, help, labelNames: [label], buckets, registers: [registry] });
}

/** Registry.PROMETHEUS_CONTENT_TYPE, without loading prom-client to read it. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
