import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JoinGroupResponseInput, SyncGroupResponseInput } from '../../../../src/protocol/kafka/generated/index.js';
import { encodeSubscription } from '../../../../src/protocol/kafka/groups/consumer-protocol.js';
import { API, Harness, isSettled, joinRequest, sleep } from './harness.js';

let h: Harness;
beforeEach(() => {
  h = Harness.create();
});
afterEach(async () => {
  await h.destroy();
});

/** Brings `n` dynamic members (v5) into a Stable group 'g' with generation 1; the leader assigns `a-<i>`. */
async function stableGroup(n: number, sessionTimeoutMs = 10_000, rebalanceTimeoutMs = 10_000) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await h.memberId('g', `client-${i}`));
  const joins = await Promise.all(ids.map((memberId, i) => h.join({ memberId, sessionTimeoutMs, rebalanceTimeoutMs }, { clientId: `client-${i}` })));
  const leader = joins[0]!.leader!;
  const syncs = await Promise.all(
    ids.map((memberId) =>
      h.sync({
        memberId,
        generationId: 1,
        assignments: memberId === leader ? ids.map((id, i) => ({ memberId: id, assignment: Buffer.from(`a-${i}`) })) : [],
      }),
    ),
  );
  return { ids, joins, syncs, leader };
}

describe('JoinGroup', () => {
  it('v4+ hands a new member its id with MEMBER_ID_REQUIRED, and the rejoin with it is accepted', async () => {
    const first = await h.join({}, { clientId: 'svc' });
    expect(first.errorCode).toBe(79);
    expect(first.memberId).toMatch(/^svc-[0-9a-f-]{36}$/);
    expect(h.coordinator.describeGroup('g')!.members).toEqual([]);

    const second = await h.join({ memberId: first.memberId! }, { clientId: 'svc' });
    expect(second).toMatchObject({ errorCode: 0, generationId: 1, memberId: first.memberId, leader: first.memberId, protocolName: 'range' });
    expect(second.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: encodeSubscription(['orders']) }]);
  });

  it('v0–3 assign the member id directly', async () => {
    const res = await h.join({}, { version: 2, clientId: 'py' });
    expect(res.errorCode).toBe(0);
    expect(res.memberId).toMatch(/^py-/);
    expect(res.generationId).toBe(1);
  });

  it('an unknown member id is rejected', async () => {
    expect((await h.join({ memberId: 'nobody' })).errorCode).toBe(25);
    await h.memberId('g');
    expect((await h.join({ memberId: 'nobody' })).errorCode).toBe(25);
  });

  it('the group id must not be empty', async () => {
    expect((await h.join({ groupId: '' })).errorCode).toBe(24);
  });

  it('3 members get one generation; the leader gets every member’s metadata, followers none', async () => {
    const ids = [await h.memberId('g', 'c0'), await h.memberId('g', 'c1'), await h.memberId('g', 'c2')];
    const metadata = ids.map((_, i) => encodeSubscription(['orders', `t${i}`]));
    const p0 = h.join({ memberId: ids[0]!, protocols: [{ name: 'range', metadata: metadata[0]! }] });
    const p1 = h.join({ memberId: ids[1]!, protocols: [{ name: 'range', metadata: metadata[1]! }] });
    // Two of three have rejoined: the join phase waits for the third.
    expect(await isSettled(p0)).toBe(false);
    expect(h.coordinator.describeGroup('g')!.state).toBe('PreparingRebalance');
    const p2 = h.join({ memberId: ids[2]!, protocols: [{ name: 'range', metadata: metadata[2]! }] });
    const res = await Promise.all([p0, p1, p2]);

    expect(new Set(res.map((r) => r.generationId))).toEqual(new Set([1]));
    expect(new Set(res.map((r) => r.leader))).toEqual(new Set([ids[0]]));
    const leaderRes = res.find((r) => r.memberId === r.leader)!;
    expect(leaderRes.members!.map((m) => [m.memberId, Buffer.from(m.metadata!)])).toEqual(ids.map((id, i) => [id, metadata[i]]));
    for (const r of res.filter((r) => r.memberId !== r.leader)) expect(r.members).toEqual([]);
    expect(h.coordinator.describeGroup('g')!.state).toBe('CompletingRebalance');
  });

  it('the initial rebalance delay holds the first join phase of an empty group', async () => {
    await h.destroy();
    h = Harness.create({ initialRebalanceDelayMs: 150 });
    const a = h.join({}, { version: 3 });
    await sleep(50);
    const b = h.join({}, { version: 3 });
    expect(await isSettled(a)).toBe(false);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.generationId).toBe(1);
    expect(rb.generationId).toBe(1);
    expect(ra.leader).toBe(rb.leader);
  });
});

describe('protocol selection', () => {
  it('chooses a protocol every member supports by the members’ votes', async () => {
    const meta = encodeSubscription(['orders']);
    const prefs = [
      ['range', 'roundrobin'],
      ['roundrobin', 'range'],
      ['range', 'roundrobin', 'sticky'],
    ];
    const ids = [await h.memberId('g'), await h.memberId('g'), await h.memberId('g')];
    const res = await Promise.all(ids.map((memberId, i) => h.join({ memberId, protocols: prefs[i]!.map((name) => ({ name, metadata: meta })) })));
    expect(res.map((r) => r.protocolName)).toEqual(['range', 'range', 'range']);

    // A member offering nothing the others all support cannot join.
    const stranger = await h.join({ protocols: [{ name: 'sticky', metadata: meta }] });
    expect(stranger.errorCode).toBe(23);
    const otherType = await h.join({ protocolType: 'connect', protocols: [{ name: 'range', metadata: meta }] });
    expect(otherType.errorCode).toBe(23);
  });

  it('a majority preference wins over the first member’s', async () => {
    const meta = encodeSubscription(['orders']);
    const prefs = [['range', 'roundrobin'], ['roundrobin', 'range'], ['roundrobin']];
    const ids = [await h.memberId('g'), await h.memberId('g'), await h.memberId('g')];
    const res = await Promise.all(ids.map((memberId, i) => h.join({ memberId, protocols: prefs[i]!.map((name) => ({ name, metadata: meta })) })));
    expect(new Set(res.map((r) => r.protocolName))).toEqual(new Set(['roundrobin']));
  });
});

describe('SyncGroup', () => {
  it('followers wait for the leader’s assignment, then everyone gets their own', async () => {
    const ids = [await h.memberId('g'), await h.memberId('g'), await h.memberId('g')];
    const joins = await Promise.all(ids.map((memberId) => h.join({ memberId })));
    const leader = joins[0]!.leader!;
    const followers = ids.filter((id) => id !== leader);
    const waiting = followers.map((memberId) => h.sync({ memberId, generationId: 1 }));
    expect(await isSettled(waiting[0]!)).toBe(false);
    const leaderSync = await h.sync({
      memberId: leader,
      generationId: 1,
      assignments: ids.map((id) => ({ memberId: id, assignment: Buffer.from(`for ${id}`) })),
    });
    expect(leaderSync.errorCode).toBe(0);
    expect(Buffer.from(leaderSync.assignment!).toString()).toBe(`for ${leader}`);
    const got = await Promise.all(waiting);
    expect(got.map((s) => Buffer.from(s.assignment!).toString())).toEqual(followers.map((id) => `for ${id}`));
    expect(h.coordinator.describeGroup('g')!.state).toBe('Stable');
    // A late SyncGroup in Stable gets the stored assignment at once.
    const again = h.now<SyncGroupResponseInput>(API.SyncGroup, 3, { ...joinlessSync(followers[0]!) });
    expect(Buffer.from(again.assignment!).toString()).toBe(`for ${followers[0]}`);
  });

  it('rejects wrong generations, unknown members and syncs during the join phase', async () => {
    const { ids } = await stableGroup(2);
    expect((await h.sync({ memberId: ids[0]!, generationId: 7 })).errorCode).toBe(22);
    expect((await h.sync({ memberId: 'ghost', generationId: 1 })).errorCode).toBe(25);
    expect((await h.sync({ groupId: 'nope', memberId: ids[0]!, generationId: 1 })).errorCode).toBe(25);
    const rejoin = h.join({ memberId: ids[1]!, protocols: [{ name: 'range', metadata: encodeSubscription(['other']) }] });
    expect((await h.sync({ memberId: ids[0]!, generationId: 1 })).errorCode).toBe(27);
    await h.leave('g', ids[0]!);
    expect((await rejoin).generationId).toBe(2);
  });

  it('a follower waiting in SyncGroup is told REBALANCE_IN_PROGRESS when the group rebalances', async () => {
    const ids = [await h.memberId('g'), await h.memberId('g')];
    const joins = await Promise.all(ids.map((memberId) => h.join({ memberId })));
    const follower = ids.find((id) => id !== joins[0]!.leader)!;
    const waiting = h.sync({ memberId: follower, generationId: 1 });
    expect(h.leave('g', joins[0]!.leader!)).toBe(0);
    expect((await waiting).errorCode).toBe(27);
  });
});

function joinlessSync(memberId: string) {
  return { groupId: 'g', generationId: 1, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] };
}

describe('Heartbeat and rebalances', () => {
  it('a leaving member makes the others rejoin into generation 2', async () => {
    const { ids, syncs } = await stableGroup(3);
    expect(syncs.map((s) => s.errorCode)).toEqual([0, 0, 0]);
    for (const id of ids) expect(h.heartbeat('g', id, 1)).toBe(0);

    expect(h.leave('g', ids[2]!)).toBe(0);
    expect(h.heartbeat('g', ids[0]!, 1)).toBe(27);
    expect(h.heartbeat('g', ids[1]!, 1)).toBe(27);
    expect(h.heartbeat('g', ids[2]!, 1)).toBe(25);
    const [r0, r1] = await Promise.all([h.join({ memberId: ids[0]! }), h.join({ memberId: ids[1]! })]);
    expect(r0.generationId).toBe(2);
    expect(r1.generationId).toBe(2);
    const leaderRes = [r0, r1].find((r) => r.memberId === r.leader)!;
    expect(leaderRes.members!.map((m) => m.memberId).sort()).toEqual([ids[0], ids[1]].sort());
    expect(h.heartbeat('g', ids[0]!, 1)).toBe(22);
    expect(h.heartbeat('g', ids[0]!, 2)).toBe(0);
  });

  it('LeaveGroup v3 removes a batch and reports each member', async () => {
    const { ids } = await stableGroup(3);
    const res = h.now<{ errorCode: number; members: Array<{ memberId: string; errorCode: number }> }>(API.LeaveGroup, 3, {
      groupId: 'g',
      memberId: '',
      members: [
        { memberId: ids[0]!, groupInstanceId: null },
        { memberId: ids[1]!, groupInstanceId: null },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    expect(res.errorCode).toBe(0);
    expect(res.members.map((m) => m.errorCode)).toEqual([0, 0, 25]);
    expect(h.coordinator.describeGroup('g')!.members.map((m) => m.memberId)).toEqual([ids[2]]);
    // v0–2 carry the member's error at the top level.
    expect(h.leave('g', 'ghost')).toBe(25);
  });

  it('the last member leaving empties the group and bumps the generation', async () => {
    const { ids } = await stableGroup(1);
    expect(h.leave('g', ids[0]!)).toBe(0);
    const d = h.coordinator.describeGroup('g')!;
    expect(d.state).toBe('Empty');
    expect(d.generationId).toBe(2);
  });

  it('session expiry removes a silent member and rebalances the rest', async () => {
    const { ids } = await stableGroup(2, 150, 2000);
    const alive = ids[0]!;
    const beat = setInterval(() => h.heartbeat('g', alive, 1), 30);
    try {
      await sleep(400);
    } finally {
      clearInterval(beat);
    }
    const d = h.coordinator.describeGroup('g')!;
    expect(d.state).toBe('PreparingRebalance');
    expect(d.members.map((m) => m.memberId)).toEqual([alive]);
    expect(h.heartbeat('g', alive, 1)).toBe(27);
    const res = await h.join({ memberId: alive, sessionTimeoutMs: 150, rebalanceTimeoutMs: 2000 });
    expect(res).toMatchObject({ errorCode: 0, generationId: 2, leader: alive });
  });

  it('members that do not rejoin within the rebalance timeout are dropped', async () => {
    const { ids } = await stableGroup(2, 10_000, 150);
    // ids[1] keeps heartbeating but never rejoins.
    const rejoin = h.join({ memberId: ids[0]!, rebalanceTimeoutMs: 150, protocols: [{ name: 'range', metadata: encodeSubscription(['x']) }] });
    expect(h.heartbeat('g', ids[1]!, 1)).toBe(27);
    const res = await rejoin;
    expect(res).toMatchObject({ errorCode: 0, generationId: 2, leader: ids[0] });
    expect(res.members!.map((m) => m.memberId)).toEqual([ids[0]]);
    expect(h.heartbeat('g', ids[1]!, 2)).toBe(25);
  });

  it('a member id that never comes back after MEMBER_ID_REQUIRED stops holding up the join phase', async () => {
    const ghost = await h.join({ sessionTimeoutMs: 100 });
    expect(ghost.errorCode).toBe(79);
    const id = await h.memberId('g');
    const res = await h.join({ memberId: id });
    expect(res).toMatchObject({ errorCode: 0, generationId: 1, leader: id });
  });

  it('a follower rejoining a Stable group with unchanged metadata gets the current generation back', async () => {
    const { ids, leader } = await stableGroup(2);
    const follower = ids.find((id) => id !== leader)!;
    const res = await h.join({ memberId: follower });
    expect(res).toMatchObject({ errorCode: 0, generationId: 1, leader, members: [] });
    expect(h.coordinator.describeGroup('g')!.state).toBe('Stable');
  });
});

describe('static membership', () => {
  it('a restarted static member takes over without a rebalance and fences its old id', async () => {
    // The initial delay lets both members into generation 1.
    await h.destroy();
    h = Harness.create({ initialRebalanceDelayMs: 50 });
    const a = h.join({ groupInstanceId: 'pod-a' }, { clientId: 'a' });
    const b = h.join({ groupInstanceId: 'pod-b' }, { clientId: 'b' });
    const [ra, rb] = await Promise.all([a, b]);
    // Static members get their id at once, no MEMBER_ID_REQUIRED.
    expect(ra.errorCode).toBe(0);
    expect(rb.generationId).toBe(1);
    const leader = ra.leader!;
    await Promise.all([
      h.sync({ memberId: ra.memberId!, groupInstanceId: 'pod-a', generationId: 1, assignments: leader === ra.memberId ? [{ memberId: ra.memberId!, assignment: Buffer.from('A') }, { memberId: rb.memberId!, assignment: Buffer.from('B') }] : [] }),
      h.sync({ memberId: rb.memberId!, groupInstanceId: 'pod-b', generationId: 1, assignments: leader === rb.memberId ? [{ memberId: ra.memberId!, assignment: Buffer.from('A') }, { memberId: rb.memberId!, assignment: Buffer.from('B') }] : [] }),
    ]);
    expect(h.coordinator.describeGroup('g')!.state).toBe('Stable');

    const follower = leader === ra.memberId ? { res: rb, inst: 'pod-b', assignment: 'B' } : { res: ra, inst: 'pod-a', assignment: 'A' };
    const restarted = h.call<JoinGroupResponseInput>(API.JoinGroup, 5, joinRequest({ groupInstanceId: follower.inst }), 'restarted');
    expect(restarted instanceof Promise).toBe(false);
    const r = restarted as JoinGroupResponseInput;
    expect(r.errorCode).toBe(0);
    expect(r.generationId).toBe(1);
    expect(r.memberId).not.toBe(follower.res.memberId);
    expect(r.memberId).toMatch(/^restarted-/);
    expect(h.coordinator.describeGroup('g')!.state).toBe('Stable');

    expect(h.heartbeat('g', follower.res.memberId!, 1, follower.inst)).toBe(82);
    expect(h.heartbeat('g', r.memberId!, 1, follower.inst)).toBe(0);
    const s = await h.sync({ memberId: r.memberId!, groupInstanceId: follower.inst, generationId: 1 });
    expect(Buffer.from(s.assignment!).toString()).toBe(follower.assignment);
    expect((await h.join({ memberId: follower.res.memberId!, groupInstanceId: follower.inst })).errorCode).toBe(82);
  });

  it('a static member rejoining with different metadata triggers a rebalance', async () => {
    const first = await h.join({ groupInstanceId: 'pod-a' });
    await h.sync({ memberId: first.memberId!, groupInstanceId: 'pod-a', generationId: 1, assignments: [{ memberId: first.memberId!, assignment: Buffer.from('x') }] });
    const res = await h.join({ groupInstanceId: 'pod-a', protocols: [{ name: 'range', metadata: encodeSubscription(['orders', 'more']) }] });
    expect(res).toMatchObject({ errorCode: 0, generationId: 2 });
  });

  it('LeaveGroup by instance id removes the static member; a wrong member id is fenced', async () => {
    const first = await h.join({ groupInstanceId: 'pod-a' });
    const res = h.now<{ members: Array<{ errorCode: number }> }>(API.LeaveGroup, 3, {
      groupId: 'g',
      memberId: '',
      members: [
        { memberId: 'someone-else', groupInstanceId: 'pod-a' },
        { memberId: '', groupInstanceId: 'pod-z' },
      ],
    });
    expect(res.members.map((m) => m.errorCode)).toEqual([82, 25]);
    const ok = h.now<{ members: Array<{ errorCode: number }> }>(API.LeaveGroup, 3, {
      groupId: 'g',
      memberId: '',
      members: [{ memberId: first.memberId!, groupInstanceId: 'pod-a' }],
    });
    expect(ok.members[0]!.errorCode).toBe(0);
    expect(h.coordinator.describeGroup('g')!.state).toBe('Empty');
  });
});

describe('close', () => {
  it('answers parked JoinGroup and SyncGroup requests with COORDINATOR_NOT_AVAILABLE', async () => {
    const ids = [await h.memberId('g'), await h.memberId('g')];
    const parkedJoin = h.join({ memberId: ids[0]! });
    const joins2 = [await h.memberId('g2'), await h.memberId('g2')];
    const j2 = await Promise.all(joins2.map((memberId) => h.join({ groupId: 'g2', memberId })));
    const follower = joins2.find((id) => id !== j2[0]!.leader)!;
    const parkedSync = h.sync({ groupId: 'g2', memberId: follower, generationId: 1 });
    await h.coordinator.close();
    expect((await parkedJoin).errorCode).toBe(15);
    expect((await parkedSync).errorCode).toBe(15);
    expect((await h.join({})).errorCode).toBe(15);
  });
});

describe('FindCoordinator', () => {
  it('names this broker, for groups and transactions', () => {
    for (const keyType of [0, 1]) {
      const res = h.now(API.FindCoordinator, 2, { key: 'g', keyType, coordinatorKeys: [] });
      expect(res).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port: 9092 });
    }
    expect(h.now(API.FindCoordinator, 2, { key: 'g', keyType: 9, coordinatorKeys: [] })).toMatchObject({ errorCode: 42 });
  });
});
