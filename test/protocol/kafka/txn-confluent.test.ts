import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../../src/index.js';
import { FIXTURES, describeClient, findPython, lastJson, run } from '../../helpers/kafka-stock-clients.js';

const python = findPython('confluent_kafka');
const script = join(FIXTURES, 'confluent_txn.py');

interface TxnRun {
  readCommitted: string[];
  readUncommitted: string[];
  groupOffset: number;
}

describeClient('confluent-kafka-python 1.7 (librdkafka) transactions', python !== null, 'python3 cannot import confluent_kafka (Debian package python3-confluent-kafka)', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('commit_transaction: read_committed sees the records and the group offset is committed (offsets sent as a group member)', async () => {
    const { stdout } = await run(python!, [script, broker.kafka.bootstrap, 'ck-txn-commit', 'ck-txn-group-c', 'commit', '25', 'member'], { timeoutMs: 60_000 });
    const res = lastJson<TxnRun>(stdout);
    const values = Array.from({ length: 25 }, (_, i) => `commit${i}`);
    expect(res.readCommitted).toEqual(values);
    expect(res.readUncommitted).toEqual(values);
    expect(res.groupOffset).toBe(25);
  });

  it('abort_transaction: read_committed sees nothing, read_uncommitted the aborted records, no group offset', async () => {
    const { stdout } = await run(python!, [script, broker.kafka.bootstrap, 'ck-txn-abort', 'ck-txn-group-a', 'abort', '25', 'none'], { timeoutMs: 60_000 });
    const res = lastJson<TxnRun>(stdout);
    expect(res.readCommitted).toEqual([]);
    expect(res.readUncommitted).toEqual(Array.from({ length: 25 }, (_, i) => `abort${i}`));
    expect(res.groupOffset).toBe(-1001); // OFFSET_INVALID: nothing committed
  });
});
