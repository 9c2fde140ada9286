/** Shared by the transaction tests: reading a topic the way a read_committed or read_uncommitted consumer sees it. */
import type { Kafka } from 'kafkajs';

let groupSeq = 0;

/**
 * Consumes `topic` from the beginning in a fresh group until `done(values)` holds, then a little longer so
 * that records which should not be there have a chance to show up. Values in arrival order per partition.
 */
export async function readValues(
  kafka: Kafka,
  topic: string,
  opts: { readUncommitted: boolean; done: (values: string[]) => boolean; timeoutMs?: number; settleMs?: number },
): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `txn-reader-${process.pid}-${++groupSeq}`, readUncommitted: opts.readUncommitted, maxWaitTimeInMs: 200 });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
    while (!opts.done(values)) {
      if (Date.now() > deadline) throw new Error(`gave up reading ${topic}: got ${JSON.stringify(values)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 300));
    return values;
  } finally {
    await consumer.disconnect();
  }
}

/** Values sorted, for comparisons that do not care about partition interleaving. */
export const sorted = (values: readonly string[]): string[] => [...values].sort();
