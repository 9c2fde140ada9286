import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { runAdmin, runCli } from './run-cli.js';

type Json = Record<string, any>;

let broker: Broker;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent' });
  env = { RAILYARD_HTTP: broker.http.url };
  dir = mkdtempSync(join(tmpdir(), 'railyard-cli-admin-'));
});
afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('railyard topics', () => {
  it('creates, lists, describes and deletes topics, as tables and as JSON', async () => {
    const created = await runAdmin(['topics', 'create', 'cli-t', '--partitions', '2', '--config', 'retention.ms=60000'], { env });
    expect(created).toMatchObject({ code: 0, stdout: 'created topic cli-t with 2 partitions\n' });

    const list = await runCli(['topics', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^TOPIC\s+PARTITIONS\s+RECORDS\s+SIZE$/);
    expect(list.stdout).toMatch(/^cli-t\s+2\s+0\s+0 B$/m);
    const listJson = await runAdmin(['topics', 'list', '--json'], { env });
    const topics = JSON.parse(listJson.stdout) as Json[];
    expect(topics.find((t) => t.name === 'cli-t')).toMatchObject({ records: 0, configs: { 'retention.ms': '60000' } });

    const desc = await runAdmin(['topics', 'describe', 'cli-t'], { env });
    expect(desc.code).toBe(0);
    expect(desc.stdout).toMatch(/^Topic: cli-t {2}Id: [0-9a-f]{32} {2}Partitions: 2/);
    expect(desc.stdout).toMatch(/^retention\.ms\s+60000\s+topic$/m);
    expect(desc.stdout).toMatch(/^cleanup\.policy\s+delete\s+default$/m);
    const descJson = JSON.parse((await runAdmin(['topics', 'describe', 'cli-t', '--json'], { env })).stdout) as Json;
    expect(descJson.partitions).toHaveLength(2);

    const jsonCreate = await runAdmin(['topics', 'create', 'cli-t2', '--json'], { env });
    expect(JSON.parse(jsonCreate.stdout)).toMatchObject({ name: 'cli-t2', partitions: [{ partition: 0 }] });

    expect(await runAdmin(['topics', 'delete', 'cli-t'], { env })).toMatchObject({ code: 0, stdout: 'deleted topic cli-t\n' });
    expect(JSON.parse((await runAdmin(['topics', 'delete', 'cli-t2', '--json'], { env })).stdout)).toEqual({ deleted: 'cli-t2' });
  });

  it('exits 3 for missing topics, 1 for refused requests, 2 for usage errors', async () => {
    const missing = await runCli(['topics', 'describe', 'nope'], { env });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/topic "nope" does not exist/);
    expect((await runAdmin(['topics', 'delete', 'nope'], { env })).code).toBe(3);

    await runAdmin(['topics', 'create', 'cli-dup'], { env });
    const dup = await runAdmin(['topics', 'create', 'cli-dup'], { env });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
    expect((await runAdmin(['topics', 'create', 'bad name'], { env })).code).toBe(1);

    expect((await runAdmin(['topics', 'create'], { env })).code).toBe(2);
    expect((await runAdmin(['topics', 'create', 'x', '--partitions', 'many'], { env })).code).toBe(2);
    expect((await runAdmin(['topics', 'create', 'x', '--config', 'novalue'], { env })).code).toBe(2);
    expect((await runCli(['topics', 'frob'], { env })).code).toBe(2);
    expect((await runAdmin(['topics', 'list', '--bogus'], { env })).code).toBe(2);
    expect((await runAdmin(['topics'], { env })).code).toBe(2);
    expect(await runAdmin(['topics', '--help'], { env })).toMatchObject({ code: 0, stdout: expect.stringMatching(/railyard topics list/) });
  });

  it('exits 1 with a clear message when no broker answers, and 2 for a bad --http', async () => {
    const down = await runCli(['topics', 'list', '--http', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the broker at http:\/\/127\.0\.0\.1:1/);
    expect((await runAdmin(['topics', 'list', '--http', 'not a url'])).code).toBe(2);
  });
});

describe('railyard produce and consume', () => {
  it('produces lines from stdin and from a file, with keys, and consumes them back', async () => {
    await runAdmin(['topics', 'create', 'pc', '--partitions', '2'], { env });
    const fromStdin = await runCli(['produce', 'pc', '--partition', '0'], { env, input: 'one\ntwo\nthree\n' });
    expect(fromStdin).toMatchObject({ code: 0, stdout: 'produced 3 records to pc\n' });

    const file = join(dir, 'lines.txt');
    writeFileSync(file, 'k1=v1\nk2=v2\n');
    const fromFile = await runAdmin(['produce', 'pc', '--file', file, '--key-separator', '=', '--partition', '1', '--json'], { env });
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toEqual({ topic: 'pc', count: 2, partitions: [{ partition: 1, firstOffset: 0, lastOffset: 1, count: 2 }] });

    const all = await runCli(['consume', 'pc'], { env });
    expect(all).toMatchObject({ code: 0, stdout: 'one\ntwo\nthree\nv1\nv2\n' });
    const keyed = await runAdmin(['consume', 'pc', '--partition', '1', '--print-key'], { env });
    expect(keyed.stdout).toBe('k1\tv1\nk2\tv2\n');
    const some = await runAdmin(['consume', 'pc', '--partition', '0', '--offset', '1', '--max-messages', '1'], { env });
    expect(some.stdout).toBe('two\n');
    expect((await runAdmin(['consume', 'pc', '--offset', 'latest'], { env })).stdout).toBe('');

    const json = JSON.parse((await runAdmin(['consume', 'pc', '--partition', '1', '--json'], { env })).stdout) as Json;
    expect(json.topic).toBe('pc');
    expect(json.records.map((r: Json) => [r.partition, r.offset, r.key, r.value])).toEqual([
      [1, 0, 'k1', 'v1'],
      [1, 1, 'k2', 'v2'],
    ]);
  });

  it('produces more records than one HTTP call carries', async () => {
    await runAdmin(['topics', 'create', 'pc-big'], { env });
    const lines = Array.from({ length: 2500 }, (_, i) => `line-${i}`).join('\n') + '\n';
    const r = await runAdmin(['produce', 'pc-big', '--json'], { env, input: lines });
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 2500, partitions: [{ partition: 0, firstOffset: 0, lastOffset: 2499, count: 2500 }] });
    const back = await runAdmin(['consume', 'pc-big'], { env });
    expect(back.stdout.split('\n').slice(0, -1)).toHaveLength(2500);
    expect(back.stdout.endsWith('line-2499\n')).toBe(true);
  });

  it('shows progress while producing a file with --progress', async () => {
    await runAdmin(['topics', 'create', 'pc-progress'], { env });
    const file = join(dir, 'many.txt');
    writeFileSync(file, Array.from({ length: 2100 }, (_, i) => `row-${i}`).join('\n') + '\n');
    const r = await runAdmin(['produce', 'pc-progress', '--file', file, '--progress'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('produced 2100 records to pc-progress\n');
    const updates = r.stderr.split('\r').filter((s) => s !== '');
    expect(updates.length).toBe(3);
    expect(updates[0]).toMatch(/^produced 1000 records \(\d+%\)$/);
    expect(updates[2]).toBe('produced 2100 records (100%)\n');
    const quiet = await runAdmin(['produce', 'pc-progress', '--file', file], { env });
    expect(quiet.stderr).toBe('');
  });

  it('exits 3 for a missing topic or file and 2 for bad flags', async () => {
    expect((await runAdmin(['produce', 'nope'], { env, input: 'x\n' })).code).toBe(3);
    expect((await runAdmin(['consume', 'nope'], { env })).code).toBe(3);
    await runAdmin(['topics', 'create', 'pc-err'], { env });
    expect((await runAdmin(['produce', 'pc-err', '--file', join(dir, 'missing.txt')], { env })).code).toBe(3);
    expect((await runAdmin(['produce'], { env })).code).toBe(2);
    expect((await runAdmin(['consume', 'pc-err', '--offset', 'soon'], { env })).code).toBe(2);
    expect((await runAdmin(['consume', 'pc-err', '--partition', '5'], { env })).code).toBe(2);
    expect((await runAdmin(['produce', 'pc-err', '--partition', '5'], { env, input: 'x\n' })).code).toBe(1);
  });
});

describe('railyard groups', () => {
  it('lists, describes and resets offsets, as tables and as JSON', async () => {
    await runAdmin(['topics', 'create', 'gt', '--partitions', '2'], { env });
    await runAdmin(['produce', 'gt', '--partition', '0'], { env, input: 'a\nb\nc\n' });
    const reset = await runAdmin(['groups', 'reset-offsets', 'cg', '--to-earliest', '--topic', 'gt'], { env });
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/^TOPIC\s+PARTITION\s+NEW-OFFSET$/m);
    expect(reset.stdout).toMatch(/^gt\s+0\s+0$/m);
    expect(reset.stdout).toMatch(/reset 2 partitions of group cg/);

    const list = await runAdmin(['groups', 'list'], { env });
    expect(list.stdout).toMatch(/^GROUP\s+STATE\s+MEMBERS\s+LAG$/m);
    expect(list.stdout).toMatch(/^cg\s+Empty\s+0\s+3$/m);
    const listJson = JSON.parse((await runAdmin(['groups', 'list', '--json'], { env })).stdout) as Json[];
    expect(listJson.find((g) => g.groupId === 'cg')).toMatchObject({ state: 'Empty', lag: 3 });

    const desc = await runAdmin(['groups', 'describe', 'cg'], { env });
    expect(desc.stdout).toMatch(/^Group: cg {2}State: Empty/);
    expect(desc.stdout).toMatch(/^gt\s+0\s+0\s+3\s+3\s+-\s+-\s+-$/m);
    const descJson = JSON.parse((await runAdmin(['groups', 'describe', 'cg', '--json'], { env })).stdout) as Json;
    expect(descJson).toMatchObject({ groupId: 'cg', lag: 3 });

    const latest = JSON.parse((await runAdmin(['groups', 'reset-offsets', 'cg', '--to-latest', '--json'], { env })).stdout) as Json;
    expect(latest).toEqual({ groupId: 'cg', dryRun: false, offsets: [{ topic: 'gt', partition: 0, offset: 3 }, { topic: 'gt', partition: 1, offset: 0 }] });
    const dry = await runAdmin(['groups', 'reset-offsets', 'cg', '--to-datetime', '1970-01-01T00:00:00Z', '--dry-run'], { env });
    expect(dry.stdout).toMatch(/^gt\s+0\s+0$/m);
    expect(dry.stdout).toMatch(/dry run/);
    expect(JSON.parse((await runAdmin(['groups', 'describe', 'cg', '--json'], { env })).stdout).lag).toBe(0);
    const byMillis = await runAdmin(['groups', 'reset-offsets', 'cg', '--to-datetime', '0', '--json'], { env });
    expect(JSON.parse(byMillis.stdout).offsets[0]).toEqual({ topic: 'gt', partition: 0, offset: 0 });
  });

  it('exits 3 for unknown groups and 2 for usage errors', async () => {
    expect((await runAdmin(['groups', 'describe', 'nope'], { env })).code).toBe(3);
    expect((await runAdmin(['groups', 'reset-offsets', 'nope', '--to-latest'], { env })).code).toBe(3);
    expect((await runAdmin(['groups', 'reset-offsets', 'cg'], { env })).code).toBe(2);
    expect((await runAdmin(['groups', 'reset-offsets', 'cg', '--to-latest', '--to-earliest'], { env })).code).toBe(2);
    expect((await runAdmin(['groups', 'reset-offsets', 'cg', '--to-datetime', 'someday'], { env })).code).toBe(2);
    expect((await runAdmin(['groups', 'describe'], { env })).code).toBe(2);
  });
});
