import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { channel, eventually, startTarget, uniqueName, type TestTarget } from './helpers.js';

const run = promisify(execFile);
const CI = process.env.CI === 'true';

/** Debian's python3 carries python3-pika; a pyenv python on PATH may not. */
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => !p.startsWith('/') || existsSync(p))!;

async function has(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args, { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const pikaAvailable = await has(PYTHON, ['-c', 'import pika']);
const toolsAvailable = await has('sh', ['-c', 'command -v amqp-publish && command -v amqp-consume && command -v amqp-declare-queue']);

let target: TestTarget;
let conn: amqp.ChannelModel;
beforeAll(async () => {
  target = await startTarget();
  conn = await amqp.connect(target.url);
});
afterAll(async () => {
  await conn.close();
  await target.stop();
});

const PIKA_SCRIPT = `
import sys, pika
params = pika.URLParameters(sys.argv[1])
q = sys.argv[2]
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.confirm_delivery()
ch.queue_declare(queue=q, durable=False, auto_delete=False)
props = pika.BasicProperties(content_type='text/plain', content_encoding='utf-8', headers={'k': 'v', 'n': 5},
  delivery_mode=2, priority=1, correlation_id='cid', reply_to='rq', expiration='60000', message_id='mid',
  timestamp=1700000000, type='t', user_id='guest', app_id='pika', cluster_id='cl')
for i in range(3):
    ch.basic_publish(exchange='', routing_key=q, body=('pika-%d' % i).encode(), properties=props, mandatory=True)
m, p, body = ch.basic_get(q, auto_ack=False)
ch.basic_ack(m.delivery_tag)
print(body.decode(), p.correlation_id, p.headers['k'], p.cluster_id, p.app_id, p.priority)
got = []
for method, properties, b in ch.consume(q, inactivity_timeout=1):
    if method is None:
        break
    ch.basic_ack(method.delivery_tag)
    got.append(b.decode())
    if len(got) == 2:
        break
ch.cancel()
print(','.join(got))
ch.queue_delete(q)
conn.close()
`;

describe('pika (python3-pika) smoke test', () => {
  it.skipIf(!pikaAvailable && !CI)('publishes with confirms, gets and consumes', async () => {
    const q = uniqueName('pika');
    const { stdout } = await run(PYTHON, ['-c', PIKA_SCRIPT, target.url, q], { timeout: 20_000 });
    const [first, rest] = stdout.trim().split('\n');
    expect(first).toBe('pika-0 cid v cl pika 1');
    expect(rest).toBe('pika-1,pika-2');
  });

  it.skipIf(!pikaAvailable && !CI)('receives what amqplib publishes', async () => {
    const q = uniqueName('pika-rx');
    const ch = await channel(conn);
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('from-amqplib'), { headers: { x: 1 } });
    await eventually(async () => (await ch.checkQueue(q)).messageCount === 1);
    const script = `
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
m, p, body = ch.basic_get(sys.argv[2], auto_ack=True)
print(body.decode(), p.headers['x'])
conn.close()
`;
    const { stdout } = await run(PYTHON, ['-c', script, target.url, q], { timeout: 20_000 });
    expect(stdout.trim()).toBe('from-amqplib 1');
    await ch.deleteQueue(q);
  });
});

describe('amqp-tools (rabbitmq-c) smoke test', () => {
  it.skipIf(!toolsAvailable && !CI)('declares, publishes and consumes', async () => {
    const q = uniqueName('tools');
    const { stdout: declared } = await run('amqp-declare-queue', ['--url', target.url, '-q', q], { timeout: 10_000 });
    expect(declared.trim()).toBe(q);
    for (const body of ['one', 'two']) {
      await run('amqp-publish', ['--url', target.url, '-r', q, '-p', '-C', 'text/plain', '-b', body], { timeout: 10_000 });
    }
    const { stdout } = await run('amqp-consume', ['--url', target.url, '-q', q, '-c', '2', 'cat'], { timeout: 10_000 });
    expect(stdout).toBe('onetwo');
    const ch = await channel(conn);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    await ch.deleteQueue(q);
  });

  it.skipIf(!toolsAvailable && !CI)('amqp-consume with an exchange binding sees amqplib publishes', async () => {
    const x = uniqueName('tools-x');
    const ch = await channel(conn);
    await ch.assertExchange(x, 'fanout', { durable: false });
    // rabbitmq-c's amqp-consume binds only when given a routing key (and crashes on -e without -r).
    const consumer = run('amqp-consume', ['--url', target.url, '-e', x, '-r', 'any', '-c', '1', 'cat'], { timeout: 10_000 });
    // Publish until the consumer's server-named queue is bound and has received one.
    let done = false;
    consumer.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      ch.publish(x, '', Buffer.from('fanned'));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await consumer).stdout).toBe('fanned');
    await ch.deleteExchange(x);
  });
});
