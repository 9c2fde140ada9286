import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqplib from 'amqplib';
import { startBroker, type Broker } from '../../src/broker.js';
import { runAdmin, runCli } from './run-cli.js';

type Row = { name: string; ready: number; consumers: number };

let broker: Broker;
let env: NodeJS.ProcessEnv;
let conn: amqplib.ChannelModel;
let ch: amqplib.ConfirmChannel;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent' });
  env = { RAILYARD_HTTP: broker.http.url };
  conn = await amqplib.connect(broker.amqp.url);
  ch = await conn.createConfirmChannel();
});
afterAll(async () => {
  await conn?.close();
  await broker?.stop();
});

async function fill(queue: string, n: number): Promise<void> {
  await ch.assertQueue(queue, { durable: true });
  for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
}

describe('railyard queues', () => {
  it('lists queues as a table and as JSON', async () => {
    await fill('cli-q', 3);
    const list = await runCli(['queues', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^QUEUE\s+DURABLE\s+READY\s+UNACKED\s+CONSUMERS\s+SIZE\s+PUBLISH\/S\s+DELIVER\/S\s+ACK\/S$/);
    expect(list.stdout).toMatch(/^cli-q\s+yes\s+3\s+0\s+0\s+6 B\s/m);
    const json = JSON.parse((await runAdmin(['queues', 'list', '--json'], { env })).stdout) as Row[];
    expect(json.find((q) => q.name === 'cli-q')).toMatchObject({ ready: 3, consumers: 0 });
  });

  it('purges and deletes, with --if-empty refusing a queue that still holds messages', async () => {
    await fill('cli-purge', 2);
    const refused = await runAdmin(['queues', 'delete', 'cli-purge', '--if-empty'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not empty/);
    expect(await runAdmin(['queues', 'purge', 'cli-purge'], { env })).toMatchObject({ code: 0, stdout: 'purged 2 messages from queue cli-purge\n' });
    expect(JSON.parse((await runAdmin(['queues', 'delete', 'cli-purge', '--if-empty', '--json'], { env })).stdout)).toEqual({ vhost: '/', deleted: 'cli-purge', messages: 0 });
    const after = JSON.parse((await runAdmin(['queues', 'list', '--json'], { env })).stdout) as Row[];
    expect(after.some((q) => q.name === 'cli-purge')).toBe(false);
  });

  it('exits 3 for missing queues and vhosts, 2 for usage errors', async () => {
    expect((await runAdmin(['queues', 'purge', 'nope'], { env })).code).toBe(3);
    expect((await runAdmin(['queues', 'delete', 'nope'], { env })).code).toBe(3);
    expect((await runAdmin(['queues', 'list', '--vhost', 'elsewhere'], { env })).code).toBe(3);
    expect((await runAdmin(['queues', 'purge'], { env })).code).toBe(2);
    expect((await runAdmin(['queues', 'frob'], { env })).code).toBe(2);
    expect((await runAdmin(['queues'], { env })).code).toBe(2);
    expect(await runAdmin(['queues', '--help'], { env })).toMatchObject({ code: 0, stdout: expect.stringMatching(/railyard queues purge/) });
  });
});
