import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createInitProducerIdHandler, type ProducerIdAndEpoch } from '../../../src/protocol/kafka/handlers/init-producer-id.js';
import type { InitProducerIdResponse } from '../../../src/protocol/kafka/generated/index.js';
import { call, openTestBroker, type TestBroker } from './handler-context.js';

let broker: TestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

const init = (transactionalId: string | null, extra: Record<string, number> = {}) => ({ transactionalId, transactionTimeoutMs: 60_000, ...extra });

describe('InitProducerId handler', () => {
  it('gives idempotent producers fresh ids, never reused after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-pid-'));
    try {
      broker = await openTestBroker({}, dir);
      const h = createInitProducerIdHandler(broker.ctx);
      const a = (await call<InitProducerIdResponse>(h, 1, init(null)))!;
      const b = (await call<InitProducerIdResponse>(h, 4, init(null, { producerId: a.producerId, producerEpoch: 0 })))!;
      expect(a).toMatchObject({ errorCode: 0, producerEpoch: 0 });
      expect(b.producerId).not.toBe(a.producerId);
      await broker.close();

      broker = await openTestBroker({}, dir);
      const c = (await call<InitProducerIdResponse>(createInitProducerIdHandler(broker.ctx), 0, init(null)))!;
      expect(c.producerId).toBeGreaterThan(Math.max(a.producerId, b.producerId));
    } finally {
      await broker?.close();
      broker = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a transactional id on one producer id and bumps its epoch, telling the coordinator', async () => {
    broker = await openTestBroker();
    const fenced: [string, ProducerIdAndEpoch, ProducerIdAndEpoch][] = [];
    const h = createInitProducerIdHandler(broker.ctx, { onFence: (id, prev, cur) => void fenced.push([id, prev, cur]) });
    const first = (await call<InitProducerIdResponse>(h, 1, init('tx')))!;
    const second = (await call<InitProducerIdResponse>(h, 1, init('tx')))!;
    expect(first.producerEpoch).toBe(0);
    expect(second).toMatchObject({ errorCode: 0, producerId: first.producerId, producerEpoch: 1 });
    expect(fenced).toEqual([['tx', { producerId: first.producerId, producerEpoch: 0 }, { producerId: first.producerId, producerEpoch: 1 }]]);
    const other = (await call<InitProducerIdResponse>(h, 1, init('other')))!;
    expect(other.producerId).not.toBe(first.producerId);
  });

  it('v3+ (KIP-360): bumps only when the caller holds the current id and epoch', async () => {
    broker = await openTestBroker();
    const h = createInitProducerIdHandler(broker.ctx);
    const first = (await call<InitProducerIdResponse>(h, 4, init('tx', { producerId: -1, producerEpoch: -1 })))!;
    const bumped = (await call<InitProducerIdResponse>(h, 4, init('tx', { producerId: first.producerId, producerEpoch: 0 })))!;
    expect(bumped).toMatchObject({ errorCode: 0, producerId: first.producerId, producerEpoch: 1 });
    const zombie = (await call<InitProducerIdResponse>(h, 3, init('tx', { producerId: first.producerId, producerEpoch: 0 })))!;
    expect(zombie).toMatchObject({ errorCode: 47, producerId: -1, producerEpoch: -1 });
  });

  it('moves to a new producer id before the epoch overflows', async () => {
    broker = await openTestBroker();
    const h = createInitProducerIdHandler(broker.ctx);
    const first = (await call<InitProducerIdResponse>(h, 1, init('tx')))!;
    broker.ctx.db.prepare('UPDATE kafka_transactional_producers SET producer_epoch = 32766 WHERE transactional_id = ?').run('tx');
    const next = (await call<InitProducerIdResponse>(h, 1, init('tx')))!;
    expect(next.producerId).not.toBe(first.producerId);
    expect(next.producerEpoch).toBe(0);
  });

  it('rejects an empty transactional id and out-of-range timeouts', async () => {
    broker = await openTestBroker();
    const h = createInitProducerIdHandler(broker.ctx);
    expect((await call<InitProducerIdResponse>(h, 1, init('')))!.errorCode).toBe(42);
    expect((await call<InitProducerIdResponse>(h, 1, { transactionalId: 'tx', transactionTimeoutMs: 0 }))!.errorCode).toBe(50);
    expect((await call<InitProducerIdResponse>(h, 1, { transactionalId: 'tx', transactionTimeoutMs: 3_600_000 }))!.errorCode).toBe(50);
  });
});
