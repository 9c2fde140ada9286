/**
 * Topic configs by their Kafka names: which exist, what values they accept, their built-in defaults, and
 * the parsed form a partition works with. Single-node settings (replicas, flushing) are accepted so that
 * tools which set them keep working, and have no effect.
 */
import { LogError, LogErrorCode } from './types.js';

type Validator = (v: string) => boolean;

const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;
const INT_MAX = 2147483647n;

function longAtLeast(min: bigint, max = LONG_MAX): Validator {
  return (v) => {
    if (!/^-?\d+$/.test(v.trim())) return false;
    const n = BigInt(v.trim());
    return n >= min && n <= max && n >= LONG_MIN;
  };
}

function intAtLeast(min: bigint): Validator {
  return longAtLeast(min, INT_MAX);
}

function oneOf(...values: string[]): Validator {
  return (v) => values.includes(v.trim());
}

function listOf(...values: string[]): Validator {
  return (v) => {
    const parts = v.split(',').map((s) => s.trim());
    return parts.length > 0 && parts.every((p) => values.includes(p));
  };
}

const isBool: Validator = (v) => v === 'true' || v === 'false';
const isRatio: Validator = (v) => /^\d*\.?\d+$/.test(v) && Number(v) >= 0 && Number(v) <= 1;

interface ConfigDef {
  defaultValue: string;
  valid: Validator;
}

export const TOPIC_CONFIG_DEFS: Readonly<Record<string, ConfigDef>> = {
  'cleanup.policy': { defaultValue: 'delete', valid: listOf('delete', 'compact') },
  'compression.type': { defaultValue: 'producer', valid: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd') },
  'delete.retention.ms': { defaultValue: '86400000', valid: longAtLeast(0n) },
  'file.delete.delay.ms': { defaultValue: '60000', valid: longAtLeast(0n) },
  'flush.messages': { defaultValue: '9223372036854775807', valid: longAtLeast(1n) },
  'flush.ms': { defaultValue: '9223372036854775807', valid: longAtLeast(0n) },
  'index.interval.bytes': { defaultValue: '4096', valid: intAtLeast(0n) },
  'max.compaction.lag.ms': { defaultValue: '9223372036854775807', valid: longAtLeast(1n) },
  'max.message.bytes': { defaultValue: '1048588', valid: intAtLeast(0n) },
  'message.timestamp.after.max.ms': { defaultValue: '9223372036854775807', valid: longAtLeast(0n) },
  'message.timestamp.before.max.ms': { defaultValue: '9223372036854775807', valid: longAtLeast(0n) },
  'message.timestamp.type': { defaultValue: 'CreateTime', valid: oneOf('CreateTime', 'LogAppendTime') },
  'min.cleanable.dirty.ratio': { defaultValue: '0.5', valid: isRatio },
  'min.compaction.lag.ms': { defaultValue: '0', valid: longAtLeast(0n) },
  'min.insync.replicas': { defaultValue: '1', valid: intAtLeast(1n) },
  preallocate: { defaultValue: 'false', valid: isBool },
  'retention.bytes': { defaultValue: '-1', valid: longAtLeast(-1n) },
  'retention.ms': { defaultValue: '604800000', valid: longAtLeast(-1n) },
  'segment.bytes': { defaultValue: '1073741824', valid: intAtLeast(14n) },
  'segment.index.bytes': { defaultValue: '10485760', valid: intAtLeast(8n) },
  'segment.jitter.ms': { defaultValue: '0', valid: longAtLeast(0n) },
  'segment.ms': { defaultValue: '604800000', valid: longAtLeast(1n) },
  'unclean.leader.election.enable': { defaultValue: 'false', valid: isBool },
};

export const TOPIC_CONFIG_NAMES: readonly string[] = Object.keys(TOPIC_CONFIG_DEFS).sort();

/** Throws INVALID_CONFIG naming the first unknown config or invalid value. */
export function validateTopicConfigs(configs: Record<string, string | null>): void {
  for (const [name, value] of Object.entries(configs)) {
    const def = TOPIC_CONFIG_DEFS[name];
    if (!def) throw new LogError(LogErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
    if (value === null) continue;
    if (typeof value !== 'string' || !def.valid(value)) {
      throw new LogError(LogErrorCode.INVALID_CONFIG, `Invalid value ${JSON.stringify(value)} for configuration ${name}`);
    }
  }
}

/** The parsed settings a partition acts on. */
export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  retentionMs: number;
  retentionBytes: number;
  maxMessageBytes: number;
  logAppendTime: boolean;
  /** message.timestamp.before.max.ms / after.max.ms: how far CreateTime timestamps may be from now. */
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  indexIntervalBytes: number;
  /** Most offset-index entries a segment may hold before it rolls (segment.index.bytes / 8). */
  maxIndexEntries: number;
  /** cleanup.policy includes `delete`: time and size retention apply. */
  deleteRetention: boolean;
  /** cleanup.policy includes `compact`: older segments keep the latest record per key. */
  compact: boolean;
  /** delete.retention.ms: how long tombstones survive compaction. */
  deleteRetentionMs: number;
}

/** Effective value of every known config: built-in default, then broker defaults, then topic overrides. */
export function effectiveConfigs(brokerDefaults: Record<string, string>, overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TOPIC_CONFIG_NAMES) {
    out[name] = overrides[name] ?? brokerDefaults[name] ?? TOPIC_CONFIG_DEFS[name]!.defaultValue;
  }
  return out;
}

function policies(effective: Record<string, string>): string[] {
  return (effective['cleanup.policy'] ?? 'delete').split(',').map((s) => s.trim());
}

export function parseLogConfig(effective: Record<string, string>): LogConfig {
  const num = (name: string): number => Number(effective[name] ?? TOPIC_CONFIG_DEFS[name]!.defaultValue);
  return {
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    maxMessageBytes: num('max.message.bytes'),
    logAppendTime: (effective['message.timestamp.type'] ?? 'CreateTime') === 'LogAppendTime',
    timestampBeforeMaxMs: num('message.timestamp.before.max.ms'),
    timestampAfterMaxMs: num('message.timestamp.after.max.ms'),
    indexIntervalBytes: num('index.interval.bytes'),
    maxIndexEntries: Math.max(1, Math.floor(num('segment.index.bytes') / 8)),
    deleteRetention: policies(effective).includes('delete'),
    compact: policies(effective).includes('compact'),
    deleteRetentionMs: num('delete.retention.ms'),
  };
}

/** Validates and parses a config record given with Kafka names (missing keys take their defaults). */
export function logConfigFrom(configs: Record<string, string> = {}): LogConfig {
  validateTopicConfigs(configs);
  return parseLogConfig(effectiveConfigs({}, configs));
}
