import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions, type KafkaOptions } from '../../../../src/config.js';
import type { BrokerContext } from '../../../../src/context.js';
import { createLogger } from '../../../../src/logger.js';
import type { LogStore } from '../../../../src/log/types.js';
import { openDatabase, type Db } from '../../../../src/store/sqlite.js';
import type { RequestContext } from '../../../../src/protocol/kafka/handler.js';
import type {
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResponseInput,
  LeaveGroupRequest,
  OffsetCommitRequest,
  OffsetFetchRequest,
  SyncGroupRequest,
  SyncGroupResponseInput,
} from '../../../../src/protocol/kafka/generated/index.js';
import { decodeRequest, encodeRequest, encodeResponse } from '../../../../src/protocol/kafka/generated/index.js';
import { Reader, Writer } from '../../../../src/protocol/kafka/wire.js';
import { createGroupCoordinator, type GroupCoordinator } from '../../../../src/protocol/kafka/groups/index.js';
import { encodeSubscription } from '../../../../src/protocol/kafka/groups/consumer-protocol.js';

/** The coordinator never touches the log; anything that does would be a bug these tests should see. */
const unusedLog = new Proxy({} as LogStore, {
  get(_t, prop) {
    throw new Error(`the group coordinator used ctx.log.${String(prop)}`);
  },
});

export const API = {
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  OffsetCommit: 8,
  OffsetFetch: 9,
  DescribeGroups: 15,
  ListGroups: 16,
  DeleteGroups: 42,
  OffsetDelete: 47,
} as const;

/** A coordinator on a real SQLite file in a temporary data dir, driven through its handlers. */
export class Harness {
  coordinator!: GroupCoordinator;
  db!: Db;
  private abort = new AbortController();

  constructor(
    readonly dataDir: string,
    private readonly kafka: KafkaOptions = {},
  ) {
    this.open();
  }

  static create(kafka: KafkaOptions = {}): Harness {
    return new Harness(mkdtempSync(join(tmpdir(), 'railyard-groups-')), kafka);
  }

  open(): void {
    const options = resolveOptions({ dataDir: this.dataDir, host: '127.0.0.1', kafka: this.kafka });
    this.db = openDatabase(this.dataDir);
    this.abort = new AbortController();
    const ctx: BrokerContext = { options, logger: createLogger('silent'), db: this.db, log: unusedLog, closing: this.abort.signal };
    this.coordinator = createGroupCoordinator(ctx);
  }

  /** Closes the coordinator and the database, then opens both again: what a broker restart does. */
  async reopen(): Promise<void> {
    await this.coordinator.close();
    this.db.close();
    this.open();
  }

  async destroy(): Promise<void> {
    await this.coordinator.close();
    this.db.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  call<Res>(apiKey: number, apiVersion: number, req: unknown, clientId = 'test-client'): Res | Promise<Res> {
    const h = this.coordinator.handlers.find((x) => x.apiKey === apiKey);
    if (!h) throw new Error(`no handler for API ${apiKey}`);
    if (apiVersion < h.minVersion || apiVersion > h.maxVersion) throw new Error(`API ${apiKey} v${apiVersion} not served`);
    const rc: RequestContext = {
      apiKey,
      apiVersion,
      correlationId: 1,
      clientId,
      conn: { id: 1, remoteAddress: '10.0.0.7', remotePort: 50000, localAddress: '127.0.0.1', localPort: 9092 },
    };
    // Through the wire codecs both ways, so the handler sees what a client of that version can send
    // and every answer is one that encodes at that version.
    const w = new Writer();
    encodeRequest(apiKey, apiVersion, w, req);
    const decoded = decodeRequest(apiKey, apiVersion, new Reader(w.finish()));
    const encodable = (body: unknown): Res => {
      if (body === null) throw new Error('handler sent no response');
      encodeResponse(apiKey, apiVersion, new Writer(), body);
      return body as Res;
    };
    const res = h.handle(decoded, rc);
    return res instanceof Promise ? res.then(encodable) : encodable(res);
  }

  /** For requests that must be answered at once. */
  now<Res>(apiKey: number, apiVersion: number, req: unknown, clientId?: string): Res {
    const res = this.call<Res>(apiKey, apiVersion, req, clientId);
    if (res instanceof Promise) throw new Error(`API ${apiKey} answered later, expected at once`);
    return res;
  }

  join(req: Partial<JoinGroupRequest>, opts: { version?: number; clientId?: string } = {}): Promise<JoinGroupResponseInput> {
    return Promise.resolve(this.call<JoinGroupResponseInput>(API.JoinGroup, opts.version ?? 5, joinRequest(req), opts.clientId));
  }

  sync(req: Partial<SyncGroupRequest>, version = 3): Promise<SyncGroupResponseInput> {
    return Promise.resolve(this.call<SyncGroupResponseInput>(API.SyncGroup, version, syncRequest(req)));
  }

  heartbeat(groupId: string, memberId: string, generationId: number, groupInstanceId: string | null = null): number {
    const req: HeartbeatRequest = { groupId, memberId, generationId, groupInstanceId };
    return this.now<{ errorCode: number }>(API.Heartbeat, 3, req).errorCode;
  }

  leave(groupId: string, memberId: string): number {
    const req: LeaveGroupRequest = { groupId, memberId, members: [] };
    return this.now<{ errorCode: number }>(API.LeaveGroup, 1, req).errorCode;
  }

  /** JoinGroup v5 twice (MEMBER_ID_REQUIRED, then with the id) for one dynamic member, without waiting for the join phase. */
  async memberId(groupId: string, clientId = 'test-client'): Promise<string> {
    const first = await this.join({ groupId }, { clientId });
    if (first.errorCode !== 79) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
    return first.memberId!;
  }
}

export const TOPICS = ['orders'];

export function joinRequest(req: Partial<JoinGroupRequest>): JoinGroupRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription(TOPICS) }],
    reason: null,
    ...req,
  };
}

export function syncRequest(req: Partial<SyncGroupRequest>): SyncGroupRequest {
  return { groupId: 'g', generationId: 1, memberId: '', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [], ...req };
}

export function commitRequest(req: Partial<OffsetCommitRequest> & { offsets?: Array<[string, number, number, string?]> }): OffsetCommitRequest {
  const { offsets = [], ...rest } = req;
  const topics = new Map<string, OffsetCommitRequest['topics'][number]>();
  for (const [name, partitionIndex, committedOffset, committedMetadata] of offsets) {
    if (!topics.has(name)) topics.set(name, { name, partitions: [] });
    topics.get(name)!.partitions.push({ partitionIndex, committedOffset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: committedMetadata ?? null });
  }
  return { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [...topics.values()], ...rest };
}

export function fetchRequest(groupId: string, topics: Array<[string, number[]]> | null): OffsetFetchRequest {
  return {
    groupId,
    topics: topics === null ? null : topics.map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    groups: [],
    requireStable: false,
  };
}

/** Whether a promise has settled by the time pending callbacks have run. */
export async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true), () => (settled = true));
  await new Promise((r) => setImmediate(r));
  return settled;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
