import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib/callback_api';
import { startTarget, uniqueName, type TestTarget } from './helpers.js';

let target: TestTarget;
let conn: amqp.Connection;

beforeAll(async () => {
  target = await startTarget();
  conn = await new Promise<amqp.Connection>((res, rej) => amqp.connect(target.url, (err, c) => (err ? rej(err) : res(c))));
});
afterAll(async () => {
  await new Promise<void>((res) => conn.close(() => res()));
  await target.stop();
});

function channel(): Promise<amqp.Channel> {
  return new Promise((res, rej) =>
    conn.createChannel((err, ch) => {
      if (err) return rej(err);
      ch.on('error', () => undefined);
      res(ch);
    }),
  );
}

function confirmChannel(): Promise<amqp.ConfirmChannel> {
  return new Promise((res, rej) =>
    conn.createConfirmChannel((err, ch) => {
      if (err) return rej(err);
      ch.on('error', () => undefined);
      res(ch);
    }),
  );
}

describe('amqplib callback API', () => {
  it('declares, binds, publishes with confirms and consumes with acks', async () => {
    const ch = await confirmChannel();
    const x = uniqueName('cbx');
    const got = await new Promise<string[]>((resolve, reject) => {
      ch.assertExchange(x, 'topic', { autoDelete: true }, (e1) => {
        if (e1) return reject(e1);
        ch.assertQueue('', { exclusive: true }, (e2, ok) => {
          if (e2) return reject(e2);
          ch.bindQueue(ok.queue, x, 'cb.*', {}, (e3) => {
            if (e3) return reject(e3);
            let confirmed = 0;
            for (const k of ['cb.one', 'cb.two', 'other']) {
              ch.publish(x, k, Buffer.from(k), { persistent: true }, (err) => {
                if (err) return reject(err);
                if (++confirmed === 3) {
                  const seen: string[] = [];
                  ch.consume(ok.queue, (m) => {
                    seen.push(m!.content.toString());
                    ch.ack(m!);
                    if (seen.length === 2) resolve(seen);
                  });
                }
              });
            }
          });
        });
      });
    });
    expect(got).toEqual(['cb.one', 'cb.two']);
  });

  it('reports channel errors to the callback and keeps the connection', async () => {
    const ch = await channel();
    const name = uniqueName('missing');
    const err = await new Promise<Error>((res) => ch.checkQueue(name, (e) => res(e)));
    expect(String(err)).toContain(`NOT_FOUND - no queue '${name}' in vhost '/'`);
    const ch2 = await channel();
    await new Promise<void>((res, rej) => ch2.checkExchange('amq.topic', (e) => (e ? rej(e) : res())));
  });

  it('gets, nacks with requeue, and sees the redelivery', async () => {
    const ch = await channel();
    const result = await new Promise<[boolean, boolean]>((resolve, reject) => {
      ch.assertQueue('', { exclusive: true }, (e, ok) => {
        if (e) return reject(e);
        ch.sendToQueue(ok.queue, Buffer.from('again'));
        const tryGet = () =>
          ch.get(ok.queue, {}, (e2, m) => {
            if (e2) return reject(e2);
            if (!m) return setTimeout(tryGet, 10);
            const first = m.fields.redelivered;
            ch.nack(m, false, true);
            ch.get(ok.queue, { noAck: true }, (e3, m2) => (e3 || !m2 ? reject(e3 ?? new Error('empty')) : resolve([first, m2.fields.redelivered])));
          });
        tryGet();
      });
    });
    expect(result).toEqual([false, true]);
  });
});
