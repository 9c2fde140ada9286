import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../../../src/logger.js';
import { openDatabase, type Db } from '../../../../src/store/sqlite.js';
import { Coordinator } from '../../../../src/protocol/kafka/groups/coordinator.js';
import { encodeSubscription } from '../../../../src/protocol/kafka/groups/consumer-protocol.js';
import type { JoinParams } from '../../../../src/protocol/kafka/groups/membership.js';

let dir: string;
let db: Db;
let c: Coordinator;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'railyard-idle-'));
  db = openDatabase(dir);
  c = new Coordinator({ db, logger: createLogger('silent'), initialRebalanceDelayMs: 0 });
});
afterEach(() => {
  c.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function params(groupId: string, requireKnownMemberId = false): JoinParams {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription(['t']) }],
    clientId: 'c',
    clientHost: '127.0.0.1',
    requireKnownMemberId,
  };
}

it('forgets Empty groups without offsets, in memory and in the database', async () => {
  const gone = await c.membership.join(params('gone'));
  c.membership.leave('gone', [{ memberId: gone.memberId, groupInstanceId: null }]);
  const kept = await c.membership.join(params('kept'));
  await c.membership.sync({ groupId: 'kept', generationId: kept.generationId, memberId: kept.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  const committed = c.commitOffsets({ groupId: 'kept', generationId: kept.generationId, memberId: kept.memberId, groupInstanceId: null, entries: [{ topic: 't', partition: 0, offset: 1 }] });
  expect(committed).toEqual([{ topic: 't', partition: 0, errorCode: 0 }]);
  c.membership.leave('kept', [{ memberId: kept.memberId, groupInstanceId: null }]);
  const active = await c.membership.join(params('active'));
  expect(active.errorCode).toBe(0);
  const arriving = await c.membership.join(params('arriving', true));
  expect(arriving.errorCode).toBe(79);

  expect(c.removeIdleGroups()).toEqual(['gone']);
  expect(c.listGroups().map((g) => g.groupId)).toEqual(['active', 'arriving', 'kept']);
  c.close();
  c = new Coordinator({ db, logger: createLogger('silent'), initialRebalanceDelayMs: 0 });
  expect(c.listGroups().map((g) => g.groupId)).toEqual(['active', 'kept']);
});
