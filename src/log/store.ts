/**
 * The log store: the topic catalogue (SQLite) and the partitions of every topic under
 * `<dataDir>/kafka/<topic>-<partition>/`.
 */
import { existsSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { TopicCatalogue } from './catalogue.js';
import { GroupCommitter } from './group-commit.js';
import { startMaintenance } from './maintenance.js';
import { Partition } from './partition.js';
import { Slab } from './slab.js';
import { effectiveConfigs, parseLogConfig, TOPIC_CONFIG_DEFS, TOPIC_CONFIG_NAMES, validateTopicConfigs } from './topic-config.js';
import {
  LogError,
  LogErrorCode,
  type ConfigEntry,
  type CreateTopicOptions,
  type LogStore,
  type LogStoreOptions,
  type PartitionLog,
  type TopicInfo,
} from './types.js';

/** Kafka's log.retention.check.interval.ms default. */
const RETENTION_CHECK_MS = 5 * 60 * 1000;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export interface RailyardLogStore extends LogStore {
  /** Runs the retention check on every partition now; returns the number of segments deleted. */
  enforceRetention(now?: number): number;
}

interface Topic {
  info: TopicInfo;
  partitions: Partition[];
}

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new LogError(LogErrorCode.INVALID_TOPIC_EXCEPTION, `invalid topic name ${JSON.stringify(name)}: use 1-249 of [a-zA-Z0-9._-], not '.' or '..'`);
  }
}

class Store implements RailyardLogStore {
  private readonly root: string;
  private readonly catalogue: TopicCatalogue;
  private readonly byName = new Map<string, Topic>();
  private readonly committer = new GroupCommitter();
  private readonly readSlab = new Slab(1024 * 1024, 4 * 1024 * 1024);
  private readonly stopTimers: () => void;
  private closed = false;

  constructor(private readonly opts: LogStoreOptions) {
    this.root = join(opts.dataDir, 'kafka');
    try {
      validateTopicConfigs(opts.topicDefaults);
    } catch (err) {
      throw new InvalidArgumentError('kafka.topicDefaults', opts.topicDefaults, (err as Error).message);
    }
    this.catalogue = new TopicCatalogue(opts.db);
    for (const info of this.catalogue.all()) {
      const t: Topic = { info, partitions: [] };
      for (let i = 0; i < info.partitions; i++) t.partitions.push(this.openPartition(info, i, false));
      this.byName.set(info.name, t);
    }
    this.stopTimers = startMaintenance({
      fsync: opts.fsync,
      fsyncIntervalMs: opts.fsyncIntervalMs,
      retentionCheckIntervalMs: opts.retentionCheckIntervalMs ?? RETENTION_CHECK_MS,
      logger: opts.logger,
      partitions: () => this.allPartitions(),
    });
  }

  private *allPartitions(): Iterable<Partition> {
    for (const t of this.byName.values()) yield* t.partitions;
  }

  private dirOf(topic: string, index: number): string {
    return join(this.root, `${topic}-${index}`);
  }

  private openPartition(info: TopicInfo, index: number, fresh: boolean): Partition {
    const dir = this.dirOf(info.name, index);
    // Leftovers of a topic deleted during a crash must not reappear in a new topic of the same name.
    if (fresh && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    return Partition.open({
      topic: info.name,
      index,
      dir,
      config: parseLogConfig(effectiveConfigs(this.opts.topicDefaults, info.configs)),
      fsync: this.opts.fsync,
      logger: this.opts.logger,
      committer: this.committer,
      tailCacheBytes: this.opts.tailCacheBytes,
      readSlab: this.readSlab,
    });
  }

  private get(name: string): Topic {
    const t = this.byName.get(name);
    if (!t) throw new LogError(LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic ${JSON.stringify(name)}`);
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, 'the log store is closed');
  }

  topics(): TopicInfo[] {
    return [...this.byName.values()]
      .map((t) => ({ ...t.info, configs: { ...t.info.configs } }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  topic(name: string): TopicInfo | undefined {
    const t = this.byName.get(name);
    return t ? { ...t.info, configs: { ...t.info.configs } } : undefined;
  }

  createTopic(name: string, opts: CreateTopicOptions): TopicInfo {
    this.assertOpen();
    validateTopicName(name);
    if (this.byName.has(name)) throw new LogError(LogErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    const norm = name.replace(/\./g, '_');
    for (const other of this.byName.keys()) {
      if (other.replace(/\./g, '_') === norm) {
        throw new LogError(LogErrorCode.INVALID_TOPIC_EXCEPTION, `topic ${name} collides with ${other} ('.' and '_' collide in metric names)`);
      }
    }
    if (!Number.isInteger(opts.partitions) || opts.partitions < 1) {
      throw new LogError(LogErrorCode.INVALID_PARTITIONS, `number of partitions must be at least 1, got ${opts.partitions}`);
    }
    const configs = { ...(opts.configs ?? {}) };
    validateTopicConfigs(configs);
    if (opts.validateOnly) return { name, id: '0'.repeat(32), partitions: opts.partitions, configs, createdAt: Date.now() };
    const info = this.catalogue.insert(name, opts.partitions, configs);
    const t: Topic = { info, partitions: [] };
    for (let i = 0; i < info.partitions; i++) t.partitions.push(this.openPartition(info, i, true));
    this.byName.set(name, t);
    return { ...info, configs: { ...configs } };
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    const t = this.get(name);
    this.byName.delete(name);
    this.catalogue.remove(name);
    for (const p of t.partitions) {
      await p.destroy();
      await rm(p.dir, { recursive: true, force: true });
    }
  }

  createPartitions(name: string, totalCount: number, validateOnly = false): TopicInfo {
    this.assertOpen();
    const t = this.get(name);
    if (!Number.isInteger(totalCount) || totalCount <= t.info.partitions) {
      throw new LogError(LogErrorCode.INVALID_PARTITIONS, `topic ${name} has ${t.info.partitions} partitions; the new count ${totalCount} must be larger`);
    }
    if (validateOnly) return { ...t.info, partitions: totalCount };
    this.catalogue.setPartitions(name, totalCount);
    for (let i = t.info.partitions; i < totalCount; i++) t.partitions.push(this.openPartition(t.info, i, true));
    t.info = { ...t.info, partitions: totalCount };
    return this.topic(name)!;
  }

  alterTopicConfigs(name: string, configs: Record<string, string | null>, mode: 'replace' | 'incremental', validateOnly = false): TopicInfo {
    this.assertOpen();
    const t = this.get(name);
    validateTopicConfigs(configs);
    const next: Record<string, string> = mode === 'replace' ? {} : { ...t.info.configs };
    for (const [k, v] of Object.entries(configs)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    if (validateOnly) return { ...t.info, configs: next };
    this.catalogue.setConfigs(name, next);
    t.info = { ...t.info, configs: next };
    const parsed = parseLogConfig(effectiveConfigs(this.opts.topicDefaults, next));
    for (const p of t.partitions) p.setConfig(parsed);
    return this.topic(name)!;
  }

  describeConfigs(name: string): ConfigEntry[] {
    const t = this.get(name);
    return TOPIC_CONFIG_NAMES.map((key) => {
      const override = t.info.configs[key];
      const broker = this.opts.topicDefaults[key];
      if (override !== undefined) return { name: key, value: override, readOnly: false, isDefault: false, sensitive: false, source: 1 };
      if (broker !== undefined) return { name: key, value: broker, readOnly: false, isDefault: false, sensitive: false, source: 4 };
      return { name: key, value: TOPIC_CONFIG_DEFS[key]!.defaultValue, readOnly: false, isDefault: true, sensitive: false, source: 5 };
    });
  }

  partition(topic: string, index: number): PartitionLog | undefined {
    return this.byName.get(topic)?.partitions[index];
  }

  enforceRetention(now = Date.now()): number {
    let n = 0;
    for (const p of this.allPartitions()) n += p.enforceRetention(now);
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.committer.run();
    await Promise.all([...this.allPartitions()].map((p) => p.close()));
  }
}

export async function openLogStore(opts: LogStoreOptions): Promise<RailyardLogStore> {
  return new Store(opts);
}
