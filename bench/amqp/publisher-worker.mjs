// Publishes from its own thread, so a scenario's publisher and consumer do not share one event loop.
// Plain JavaScript: worker threads do not inherit the TypeScript loader of the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import amqp from 'amqplib';

const job = workerData;
const conn = await amqp.connect(job.url, { noDelay: true });
const ch = await conn.createChannel();
const body = Buffer.alloc(job.bodySize, 0x61);
for (let i = 0; i < job.count; i++) {
  if (!ch.publish(job.exchange, job.routingKey, body)) await new Promise((r) => ch.once('drain', r));
}
// A round trip after the last publish: everything before it has reached the broker.
await ch.checkExchange(job.exchange === '' ? 'amq.direct' : job.exchange);
await conn.close();
parentPort.postMessage('done');
