import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogErrorCode, TOPIC_CONFIG_NAMES } from '../../src/log/index.js';
import { batchOf, openStore, tempDir } from './helpers.js';

describe('topic catalogue', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('validates names, duplicates, partition counts and configs', async () => {
    const s = await openStore(t.dir);
    for (const bad of ['', '.', '..', 'a/b', 'sp ace', 'x'.repeat(250), 'ü']) {
      expect(() => s.createTopic(bad, { partitions: 1 })).toThrow(expect.objectContaining({ code: LogErrorCode.INVALID_TOPIC_EXCEPTION }));
    }
    const info = s.createTopic('good.name_1-x', { partitions: 3, configs: { 'retention.ms': '1000' } });
    expect(info.id).toMatch(/^[0-9a-f]{32}$/);
    expect(info).toMatchObject({ name: 'good.name_1-x', partitions: 3, configs: { 'retention.ms': '1000' } });
    expect(() => s.createTopic('good.name_1-x', { partitions: 1 })).toThrow(expect.objectContaining({ code: LogErrorCode.TOPIC_ALREADY_EXISTS }));
    expect(() => s.createTopic('good_name_1-x', { partitions: 1 })).toThrow(expect.objectContaining({ code: LogErrorCode.INVALID_TOPIC_EXCEPTION }));
    for (const n of [0, -1, 1.5]) {
      expect(() => s.createTopic(`p${String(n).replace(/\W/g, '')}`, { partitions: n })).toThrow(expect.objectContaining({ code: LogErrorCode.INVALID_PARTITIONS }));
    }
    const invalid: Record<string, string>[] = [
      { 'no.such.config': '1' },
      { 'retention.ms': 'soon' },
      { 'retention.ms': '-2' },
      { 'segment.bytes': '10' },
      { 'segment.bytes': '4294967296' },
      { 'message.timestamp.type': 'WallClock' },
      { 'compression.type': 'brotli' },
      { 'cleanup.policy': 'delete,shred' },
      { 'min.insync.replicas': '0' },
    ];
    for (const configs of invalid) {
      expect(() => s.createTopic('cfg', { partitions: 1, configs })).toThrow(expect.objectContaining({ code: LogErrorCode.INVALID_CONFIG }));
    }
    s.createTopic('cfg', { partitions: 1, configs: { 'cleanup.policy': 'compact,delete', 'compression.type': 'zstd', 'flush.messages': '9223372036854775807', 'max.message.bytes': '2000000' } });
    expect(s.createTopic('dry', { partitions: 2, validateOnly: true }).partitions).toBe(2);
    expect(s.topic('dry')).toBeUndefined();
    expect(s.topics().map((x) => x.name)).toEqual(['cfg', 'good.name_1-x']);
    await s.closeAll();

    const again = await openStore(t.dir);
    expect(again.topic('good.name_1-x')).toEqual(info);
    expect(again.partition('good.name_1-x', 2)).toBeDefined();
    expect(again.partition('good.name_1-x', 3)).toBeUndefined();
    await again.closeAll();
  });

  it('describes every known config with its effective value and source', async () => {
    const s = await openStore(t.dir, { topicDefaults: { 'retention.ms': '3600000', 'segment.bytes': '1048576' } });
    s.createTopic('d', { partitions: 1, configs: { 'segment.bytes': '2048' } });
    const entries = s.describeConfigs('d');
    expect(entries.map((e) => e.name)).toEqual([...TOPIC_CONFIG_NAMES]);
    const by = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(by['segment.bytes']).toMatchObject({ value: '2048', source: 1, isDefault: false });
    expect(by['retention.ms']).toMatchObject({ value: '3600000', source: 4, isDefault: false });
    expect(by['max.message.bytes']).toMatchObject({ value: '1048588', source: 5, isDefault: true });
    expect(by['message.timestamp.type']).toMatchObject({ value: 'CreateTime', source: 5 });
    expect(by['compression.type']).toMatchObject({ value: 'producer' });
    expect(() => s.describeConfigs('nope')).toThrow(expect.objectContaining({ code: LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION }));
    await s.closeAll();
  });

  it('alters configs incrementally or by replacement, and partitions act on them', async () => {
    const s = await openStore(t.dir);
    s.createTopic('a', { partitions: 1, configs: { 'retention.ms': '1000', 'segment.ms': '5000' } });
    s.alterTopicConfigs('a', { 'retention.ms': null, 'max.message.bytes': '100' }, 'incremental');
    expect(s.topic('a')!.configs).toEqual({ 'segment.ms': '5000', 'max.message.bytes': '100' });
    await expect(s.partition('a', 0)!.append(batchOf(['x'.repeat(200)]))).rejects.toMatchObject({ code: LogErrorCode.MESSAGE_TOO_LARGE });
    expect(() => s.alterTopicConfigs('a', { 'retention.ms': 'x' }, 'incremental')).toThrow(expect.objectContaining({ code: LogErrorCode.INVALID_CONFIG }));
    expect(s.alterTopicConfigs('a', { 'retention.ms': '7' }, 'replace', true).configs).toEqual({ 'retention.ms': '7' });
    expect(s.topic('a')!.configs).toEqual({ 'segment.ms': '5000', 'max.message.bytes': '100' });
    s.alterTopicConfigs('a', { 'retention.ms': '7' }, 'replace');
    expect(s.topic('a')!.configs).toEqual({ 'retention.ms': '7' });
    await s.partition('a', 0)!.append(batchOf(['x'.repeat(200)]));
    await s.closeAll();
  });

  it('adds partitions and deletes topics with their files', async () => {
    const s = await openStore(t.dir);
    s.createTopic('grow', { partitions: 1 });
    expect(() => s.createPartitions('grow', 1)).toThrow(expect.objectContaining({ code: LogErrorCode.INVALID_PARTITIONS }));
    expect(s.createPartitions('grow', 3, true).partitions).toBe(3);
    expect(s.topic('grow')!.partitions).toBe(1);
    expect(s.createPartitions('grow', 3).partitions).toBe(3);
    await s.partition('grow', 2)!.append(batchOf(['x']));
    const dir = join(t.dir, 'kafka', 'grow-2');
    expect(existsSync(join(dir, '00000000000000000000.log'))).toBe(true);
    await s.deleteTopic('grow');
    expect(existsSync(dir)).toBe(false);
    expect(s.topic('grow')).toBeUndefined();
    await expect(s.deleteTopic('grow')).rejects.toMatchObject({ code: LogErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    // A new topic of the same name starts empty.
    s.createTopic('grow', { partitions: 3 });
    expect(s.partition('grow', 2)!.logEndOffset).toBe(0);
    await s.closeAll();
    const again = await openStore(t.dir);
    expect(again.topic('grow')!.partitions).toBe(3);
    await again.closeAll();
  });

  it('store-wide retention runs over every partition', async () => {
    const s = await openStore(t.dir, { topicDefaults: { 'segment.bytes': '300', 'retention.bytes': '0' } });
    s.createTopic('r', { partitions: 2 });
    for (let i = 0; i < 3; i++) {
      await s.partition('r', 0)!.append(batchOf(['y'.repeat(150)]));
      await s.partition('r', 1)!.append(batchOf(['y'.repeat(150)]));
    }
    expect(s.enforceRetention()).toBe(4);
    expect(s.partition('r', 0)!.logStartOffset).toBe(2);
    await s.closeAll();
  });
});
