import type { LogStore } from '../log/types.js';
import { GroupNotEmptyError, type GroupCoordinator, type OffsetCommitEntry } from '../protocol/kafka/groups/index.js';
import { decodeAssignment } from './consumer-assignment.js';
import { badRequest, conflict, notFound } from './errors.js';
import { requireTopic } from './kafka-view.js';
import type { Router } from './router.js';
import { objectBody, oneOf, optionalBoolean, type Fields } from './validate.js';

export interface OffsetLag {
  topic: string;
  partition: number;
  committedOffset: number;
  /** null when the topic or partition no longer exists. */
  logEndOffset: number | null;
  lag: number | null;
  metadata: string;
  commitTimestamp: number;
}

/** Lag as Kafka tools report it: end offset minus committed offset, never below zero. */
export function groupLag(log: LogStore, groups: GroupCoordinator, groupId: string): OffsetLag[] {
  return groups.committedOffsets(groupId).map((o) => {
    const p = log.partition(o.topic, o.partition);
    const end = p ? p.logEndOffset : null;
    return {
      topic: o.topic,
      partition: o.partition,
      committedOffset: o.offset,
      logEndOffset: end,
      lag: end === null ? null : Math.max(0, end - o.offset),
      metadata: o.metadata,
      commitTimestamp: o.commitTimestamp,
    };
  });
}

function totalLag(offsets: readonly OffsetLag[]): number {
  let n = 0;
  for (const o of offsets) n += o.lag ?? 0;
  return n;
}

const RESET_TARGETS = ['earliest', 'latest', 'datetime'] as const;

/** A datetime as ISO 8601 text or epoch milliseconds. */
function parseDatetime(v: unknown): number {
  const ms = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms) || !Number.isSafeInteger(ms)) throw badRequest('datetime', 'must be an ISO 8601 date-time or epoch milliseconds');
  return ms;
}

function topicList(body: Fields): string[] | undefined {
  const v = body.topics;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.some((t) => typeof t !== 'string' || t === '')) {
    throw badRequest('topics', 'must be a non-empty array of topic names');
  }
  return [...new Set(v as string[])];
}

/** Consumer groups: list with lag, detail with members and assignments, offset reset while Empty. */
export function addGroupRoutes(router: Router, log: LogStore, groups: GroupCoordinator): void {
  router.add('GET', '/api/kafka/groups', () => {
    const list = groups.listGroups().map((g) => ({ ...g, lag: totalLag(groupLag(log, groups, g.groupId)) }));
    return { status: 200, body: { groups: list } };
  });

  router.add('GET', '/api/kafka/groups/:id', (req) => {
    const id = req.params.id!;
    const g = groups.describeGroup(id);
    if (!g) throw notFound(`consumer group ${JSON.stringify(id)} does not exist`);
    const offsets = groupLag(log, groups, id);
    return {
      status: 200,
      body: {
        groupId: g.groupId,
        state: g.state,
        protocolType: g.protocolType,
        protocol: g.protocol,
        generationId: g.generationId,
        leaderId: g.leaderId,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          sessionTimeoutMs: m.sessionTimeoutMs,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          assignment: g.protocolType === 'consumer' ? (decodeAssignment(m.assignment) ?? []) : [],
        })),
        offsets,
        lag: totalLag(offsets),
      },
    };
  });

  router.add('POST', '/api/kafka/groups/:id/reset-offsets', async (req) => {
    const id = req.params.id!;
    const body = objectBody(await req.json());
    const to = oneOf(body.to, 'to', RESET_TARGETS);
    const at = to === 'datetime' ? parseDatetime(body.datetime) : 0;
    const dryRun = optionalBoolean(body, 'dryRun') ?? false;
    const known = groups.describeGroup(id) !== undefined;
    const requested = topicList(body);
    // Without a topic list the reset covers what the group already consumes; a new group needs one.
    if (!known && !requested) throw notFound(`consumer group ${JSON.stringify(id)} does not exist (name topics to position a new group)`);
    const topics = requested ?? [...new Set(groups.committedOffsets(id).map((o) => o.topic))].filter((t) => log.topic(t));
    const entries: OffsetCommitEntry[] = [];
    for (const name of topics) {
      const info = requireTopic(log, name);
      for (let i = 0; i < info.partitions; i++) {
        const p = log.partition(name, i);
        if (!p) continue;
        let offset: number;
        if (to === 'earliest') offset = p.logStartOffset;
        else if (to === 'latest') offset = p.logEndOffset;
        else offset = p.offsetForTimestamp(at)?.offset ?? p.logEndOffset;
        entries.push({ topic: name, partition: i, offset });
      }
    }
    if (!dryRun) {
      try {
        groups.resetOffsets(id, entries);
      } catch (err) {
        if (err instanceof GroupNotEmptyError) throw conflict(err.message);
        throw err;
      }
    }
    return { status: 200, body: { groupId: id, dryRun, offsets: entries.map((e) => ({ topic: e.topic, partition: e.partition, offset: e.offset })) } };
  });
}
