import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/store/sqlite.js';
import type {
  DescribeGroupsResponseInput,
  ListGroupsResponseInput,
  OffsetCommitResponseInput,
  OffsetDeleteResponseInput,
  OffsetFetchResponseInput,
} from '../../../../src/protocol/kafka/generated/index.js';
import { GroupNotEmptyError } from '../../../../src/protocol/kafka/groups/index.js';
import { encodeSubscription } from '../../../../src/protocol/kafka/groups/consumer-protocol.js';
import { API, Harness, commitRequest, fetchRequest } from './harness.js';

let h: Harness;
beforeEach(() => {
  h = Harness.create();
});
afterEach(async () => {
  await h.destroy();
});

function commit(req: Parameters<typeof commitRequest>[0], version = 7): Array<[string, number, number]> {
  const res = h.now<OffsetCommitResponseInput>(API.OffsetCommit, version, commitRequest(req));
  return res.topics!.flatMap((t) => t.partitions!.map((p) => [t.name!, p.partitionIndex!, p.errorCode!] as [string, number, number]));
}

function fetch(groupId: string, topics: Array<[string, number[]]> | null, version = 5) {
  const res = h.now<OffsetFetchResponseInput>(API.OffsetFetch, version, fetchRequest(groupId, topics));
  return {
    errorCode: res.errorCode,
    offsets: res.topics!.flatMap((t) =>
      t.partitions!.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata, epoch: p.committedLeaderEpoch, errorCode: p.errorCode })),
    ),
  };
}

/** One consumer member in a Stable group 'g' subscribed to `topics`; returns its id. */
async function stableMember(topics: string[]): Promise<string> {
  const first = await h.join({ protocols: [{ name: 'range', metadata: encodeSubscription(topics) }] }, { version: 3, clientId: 'app' });
  await h.sync({ memberId: first.memberId!, generationId: first.generationId!, assignments: [{ memberId: first.memberId!, assignment: Buffer.from('asg') }] });
  return first.memberId!;
}

describe('OffsetCommit / OffsetFetch', () => {
  it('a simple consumer commits with generation -1; offsets survive a restart', async () => {
    expect(commit({ groupId: 'reporting', offsets: [['orders', 0, 42, 'note'], ['orders', 1, 7], ['audit', 0, 3]] })).toEqual([
      ['orders', 0, 0],
      ['orders', 1, 0],
      ['audit', 0, 0],
    ]);
    expect(fetch('reporting', [['orders', [0, 1, 2]]]).offsets).toEqual([
      { topic: 'orders', partition: 0, offset: 42, metadata: 'note', epoch: -1, errorCode: 0 },
      { topic: 'orders', partition: 1, offset: 7, metadata: '', epoch: -1, errorCode: 0 },
      { topic: 'orders', partition: 2, offset: -1, metadata: '', epoch: -1, errorCode: 0 },
    ]);

    await h.reopen();

    const all = fetch('reporting', null);
    expect(all.errorCode).toBe(0);
    expect(all.offsets.map((o) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([
      ['audit', 0, 3, ''],
      ['orders', 0, 42, 'note'],
      ['orders', 1, 7, ''],
    ]);
    expect(h.coordinator.committedOffsets('reporting').map((c) => [c.topic, c.partition, c.offset])).toEqual([
      ['audit', 0, 3],
      ['orders', 0, 42],
      ['orders', 1, 7],
    ]);
    const list = h.now<ListGroupsResponseInput>(API.ListGroups, 2, {});
    expect(list.groups).toEqual([{ groupId: 'reporting', protocolType: '', groupState: 'Empty' }]);
  });

  it('a consumer group’s protocol type and generation survive a restart', async () => {
    const member = await stableMember(['orders']);
    expect(commit({ generationIdOrMemberEpoch: 1, memberId: member, offsets: [['orders', 0, 5]] })).toEqual([['orders', 0, 0]]);
    await h.reopen();
    const list = h.now<ListGroupsResponseInput>(API.ListGroups, 2, {});
    expect(list.groups).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Empty' }]);
    expect(h.coordinator.describeGroup('g')).toMatchObject({ state: 'Empty', generationId: 1, members: [] });
    // The next generation continues from the stored one.
    const again = await h.join({}, { version: 3 });
    expect(again.generationId).toBe(2);
    expect(fetch('g', [['orders', [0]]]).offsets[0]!.offset).toBe(5);
  });

  it('stores the leader epoch from v6 and returns it from v5', () => {
    const req = commitRequest({ groupId: 'e', offsets: [['t', 0, 10]] });
    req.topics[0]!.partitions[0]!.committedLeaderEpoch = 4;
    h.now(API.OffsetCommit, 7, req);
    expect(fetch('e', [['t', [0]]]).offsets[0]!.epoch).toBe(4);
  });

  it('validates group members: generation, member id, rebalance', async () => {
    const member = await stableMember(['orders']);
    expect(commit({ generationIdOrMemberEpoch: 2, memberId: member, offsets: [['orders', 0, 1]] })).toEqual([['orders', 0, 22]]);
    expect(commit({ generationIdOrMemberEpoch: 1, memberId: 'ghost', offsets: [['orders', 0, 1]] })).toEqual([['orders', 0, 25]]);
    // A commit without group management is refused while the group has members.
    expect(commit({ offsets: [['orders', 0, 1]] })).toEqual([['orders', 0, 25]]);
    // An unknown group only takes commits without a generation.
    expect(commit({ groupId: 'unknown', generationIdOrMemberEpoch: 3, memberId: 'm', offsets: [['orders', 0, 1]] })).toEqual([['orders', 0, 22]]);
    expect(commit({ groupId: '', offsets: [['orders', 0, 1]] })).toEqual([['orders', 0, 24]]);
    expect(fetch('g', [['orders', [0]]]).offsets[0]!.offset).toBe(-1);

    // While the join phase runs, the current generation may still commit (before revoking)...
    const second = h.join({}, { version: 3 });
    expect(h.coordinator.describeGroup('g')!.state).toBe('PreparingRebalance');
    expect(commit({ generationIdOrMemberEpoch: 1, memberId: member, offsets: [['orders', 0, 9]] })).toEqual([['orders', 0, 0]]);
    // ...but not between the join and the sync of the next one.
    const rejoin = await h.join({ memberId: member }, { version: 3 });
    await second;
    expect(h.coordinator.describeGroup('g')!.state).toBe('CompletingRebalance');
    expect(commit({ generationIdOrMemberEpoch: rejoin.generationId!, memberId: member, offsets: [['orders', 0, 10]] })).toEqual([['orders', 0, 27]]);
    expect(fetch('g', [['orders', [0]]]).offsets[0]!.offset).toBe(9);
  });

  it('answers a retriable error while another process holds the database', () => {
    h.db.pragma('busy_timeout = 20');
    const other = openDatabase(h.dataDir);
    try {
      other.exec('BEGIN IMMEDIATE');
      expect(commit({ offsets: [['t', 0, 1]] })).toEqual([['t', 0, 15]]);
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect(fetch('g', [['t', [0]]]).offsets[0]!.offset).toBe(-1);
    expect(commit({ offsets: [['t', 0, 1]] })).toEqual([['t', 0, 0]]);
    expect(fetch('g', [['t', [0]]]).offsets[0]!.offset).toBe(1);
  });

  it('rejects metadata over 4096 characters, per partition', () => {
    expect(commit({ offsets: [['t', 0, 1, 'x'.repeat(4097)], ['t', 1, 2, 'ok']] })).toEqual([
      ['t', 0, 12],
      ['t', 1, 0],
    ]);
    expect(fetch('g', [['t', [0, 1]]]).offsets.map((o) => o.offset)).toEqual([-1, 2]);
  });

  it('OffsetFetch v1 has per-partition errors, v2+ a top-level one', () => {
    expect(fetch('', [['t', [0]]], 1).offsets[0]!.errorCode).toBe(24);
    expect(fetch('', [['t', [0]]], 3).errorCode).toBe(24);
    expect(fetch('nobody', [['t', [0]]], 1).offsets[0]).toMatchObject({ offset: -1, errorCode: 0 });
  });

  it('OffsetCommit v2 (kafka-python) works the same', () => {
    expect(commit({ groupId: 'py', offsets: [['t', 0, 11]] }, 2)).toEqual([['t', 0, 0]]);
    expect(fetch('py', [['t', [0]]], 1).offsets[0]!.offset).toBe(11);
  });
});

describe('OffsetDelete', () => {
  it('deletes only offsets of topics the active group does not subscribe to', async () => {
    const member = await stableMember(['orders']);
    commit({ generationIdOrMemberEpoch: 1, memberId: member, offsets: [['orders', 0, 5], ['old-topic', 0, 8]] });
    const res = h.now<OffsetDeleteResponseInput>(API.OffsetDelete, 0, {
      groupId: 'g',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0 }] },
        { name: 'old-topic', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(res.errorCode).toBe(0);
    expect(res.topics!.map((t) => [t.name, t.partitions![0]!.errorCode])).toEqual([
      ['orders', 86],
      ['old-topic', 0],
    ]);
    expect(fetch('g', [['orders', [0]], ['old-topic', [0]]]).offsets.map((o) => o.offset)).toEqual([5, -1]);

    h.leave('g', member);
    const empty = h.now<OffsetDeleteResponseInput>(API.OffsetDelete, 0, { groupId: 'g', topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }] });
    expect(empty.topics![0]!.partitions![0]!.errorCode).toBe(0);
    expect(fetch('g', [['orders', [0]]]).offsets[0]!.offset).toBe(-1);
    await h.reopen();
    expect(fetch('g', null).offsets).toEqual([]);
  });

  it('answers GROUP_ID_NOT_FOUND and INVALID_GROUP_ID at the top level', () => {
    const topics = [{ name: 't', partitions: [{ partitionIndex: 0 }] }];
    expect(h.now<OffsetDeleteResponseInput>(API.OffsetDelete, 0, { groupId: 'nope', topics }).errorCode).toBe(69);
    expect(h.now<OffsetDeleteResponseInput>(API.OffsetDelete, 0, { groupId: '', topics }).errorCode).toBe(24);
  });
});

describe('DeleteGroups', () => {
  it('deletes only empty groups, with their offsets', async () => {
    const member = await stableMember(['orders']);
    commit({ generationIdOrMemberEpoch: 1, memberId: member, offsets: [['orders', 0, 5]] });
    const del = (groupsNames: string[]) => h.now<{ results: Array<{ groupId: string; errorCode: number }> }>(API.DeleteGroups, 1, { groupsNames }).results;
    expect(del(['g', 'missing', ''])).toEqual([
      { groupId: 'g', errorCode: 68 },
      { groupId: 'missing', errorCode: 69 },
      { groupId: '', errorCode: 24 },
    ]);
    h.leave('g', member);
    expect(del(['g'])).toEqual([{ groupId: 'g', errorCode: 0 }]);
    expect(del(['g'])).toEqual([{ groupId: 'g', errorCode: 69 }]);
    expect(fetch('g', null).offsets).toEqual([]);
    expect(h.coordinator.listGroups()).toEqual([]);
    await h.reopen();
    expect(h.coordinator.listGroups()).toEqual([]);
    expect(fetch('g', [['orders', [0]]]).offsets[0]!.offset).toBe(-1);
  });
});

describe('DescribeGroups and ListGroups', () => {
  it('describes a Stable group with members, metadata and assignments', async () => {
    const member = await stableMember(['orders']);
    const res = h.now<DescribeGroupsResponseInput>(API.DescribeGroups, 4, { groups: ['g', 'unknown', ''], includeAuthorizedOperations: false });
    const [g, unknown, invalid] = res.groups!;
    expect(g).toMatchObject({ errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' });
    expect(g!.members).toEqual([
      {
        memberId: member,
        groupInstanceId: null,
        clientId: 'app',
        clientHost: '10.0.0.7',
        memberMetadata: encodeSubscription(['orders']),
        memberAssignment: Buffer.from('asg'),
      },
    ]);
    expect(unknown).toMatchObject({ errorCode: 0, groupId: 'unknown', groupState: 'Dead', members: [] });
    expect(invalid!.errorCode).toBe(24);

    const list = h.now<ListGroupsResponseInput>(API.ListGroups, 2, {});
    expect(list).toEqual({ errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable' }] });
    expect(h.coordinator.listGroups()).toEqual([{ groupId: 'g', protocolType: 'consumer', state: 'Stable', members: 1 }]);
  });

  it('shows members without metadata while a rebalance runs', async () => {
    await stableMember(['orders']);
    const joining = h.join({}, { version: 3 });
    const d = h.coordinator.describeGroup('g')!;
    expect(d.state).toBe('PreparingRebalance');
    expect(d.protocol).toBe('');
    expect(d.members.every((m) => m.metadata.length === 0 && m.assignment.length === 0)).toBe(true);
    await h.coordinator.close();
    expect((await joining).errorCode).toBe(15);
  });
});

describe('resetOffsets', () => {
  it('is refused while the group has members and allowed once it is Empty', async () => {
    const member = await stableMember(['orders']);
    expect(() => h.coordinator.resetOffsets('g', [{ topic: 'orders', partition: 0, offset: 0 }])).toThrow(GroupNotEmptyError);
    h.leave('g', member);
    h.coordinator.resetOffsets('g', [{ topic: 'orders', partition: 0, offset: 3, metadata: 'reset' }]);
    expect(h.coordinator.committedOffsets('g')).toMatchObject([{ topic: 'orders', partition: 0, offset: 3, metadata: 'reset' }]);
    h.coordinator.resetOffsets('fresh', [{ topic: 'orders', partition: 1, offset: 0 }]);
    expect(h.coordinator.committedOffsets('fresh')).toMatchObject([{ topic: 'orders', partition: 1, offset: 0 }]);
    expect(() => h.coordinator.resetOffsets('', [])).toThrow(/groupId/);
    expect(() => h.coordinator.resetOffsets('g', [{ topic: 'orders', partition: -1, offset: 0 }])).toThrow(/partition/);
  });
});

describe('forgetTopic', () => {
  it('drops every group’s offsets of a deleted topic, also after a restart', async () => {
    commit({ groupId: 'a', offsets: [['gone', 0, 5], ['kept', 0, 6]] });
    commit({ groupId: 'b', offsets: [['gone', 1, 7]] });
    h.coordinator.forgetTopic('gone');
    expect(h.coordinator.committedOffsets('a').map((c) => c.topic)).toEqual(['kept']);
    expect(h.coordinator.committedOffsets('b')).toEqual([]);
    await h.reopen();
    expect(fetch('a', null).offsets.map((o) => [o.topic, o.offset])).toEqual([['kept', 6]]);
    expect(fetch('b', [['gone', [1]]]).offsets[0]!.offset).toBe(-1);
  });
});
