import { subscribedTopics } from './consumer-protocol.js';

/** Kafka's classic group states, spelled as DescribeGroups and ListGroups show them. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface MemberProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinOutcome {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Every member's metadata for the leader; empty for followers. */
  members: JoinedMember[];
}

export interface SyncOutcome {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export const EMPTY_BYTES = Buffer.alloc(0);

export function joinError(errorCode: number, memberId = ''): JoinOutcome {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

export function syncError(errorCode: number): SyncOutcome {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export interface MemberInit {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
}

export class Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  assignment: Buffer = EMPTY_BYTES;
  /** Set while the member's JoinGroup is parked until the join phase completes. */
  awaitingJoin: ((r: JoinOutcome) => void) | null = null;
  /** Set while the member's SyncGroup is parked until the leader's assignment arrives. */
  awaitingSync: ((r: SyncOutcome) => void) | null = null;
  /** Last sign of life; the session timer compares against it instead of being re-armed per heartbeat. */
  lastSeen = Date.now();
  sessionTimer: NodeJS.Timeout | null = null;

  constructor(init: MemberInit) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, same order, same bytes: a rejoin that needs no rebalance. */
  sameProtocols(protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }
}

export class Group {
  readonly groupId: string;
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Members told MEMBER_ID_REQUIRED that have not rejoined yet, with their expiry timers. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** groupInstanceId -> memberId of static members. */
  readonly staticMembers = new Map<string, string>();
  /** Ends the join phase at the rebalance timeout, whoever has not rejoined by then. */
  joinTimer: NodeJS.Timeout | null = null;
  /** Re-checks the join phase once the initial rebalance delay has passed. */
  delayTimer: NodeJS.Timeout | null = null;
  /** The join phase may not complete before this time (initial rebalance delay of an empty group). */
  joinNotBefore = 0;
  /** When the current initial delay started, to cap its extensions at the rebalance timeout. */
  initialDelayStart = 0;

  constructor(groupId: string, protocolType: string | null) {
    this.groupId = groupId;
    this.protocolType = protocolType;
  }

  add(member: Member): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
  }

  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (!member) return undefined;
    this.members.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return member;
  }

  /** Gives a static member a new member id in place (its assignment and place in the group stay). */
  replaceMemberId(member: Member, newMemberId: string): void {
    const oldId = member.memberId;
    this.members.delete(oldId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, newMemberId);
    if (this.leaderId === oldId) this.leaderId = newMemberId;
  }

  staticMember(groupInstanceId: string | null): Member | undefined {
    if (groupInstanceId === null) return undefined;
    const id = this.staticMembers.get(groupInstanceId);
    return id === undefined ? undefined : this.members.get(id);
  }

  /** Protocols every member supports, in the first member's preference order. */
  candidateProtocols(): string[] {
    const all = [...this.members.values()];
    if (all.length === 0) return [];
    return all[0]!.protocols.map((p) => p.name).filter((name) => all.every((m) => m.protocols.some((p) => p.name === name)));
  }

  /**
   * Whether a member offering `protocols` of `protocolType` can join: an empty group takes any non-empty
   * offer; otherwise the type must match and at least one offered protocol must be supported by every
   * current member (`excluding` leaves out the joiner's own previous entry).
   */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[], excluding?: string): boolean {
    const others = [...this.members.values()].filter((m) => m.memberId !== excluding);
    if (others.length === 0) return protocolType !== '' && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  /** Each member votes for its most preferred candidate; most votes wins, ties go to the earlier candidate. */
  selectProtocol(): string | null {
    const candidates = this.candidateProtocols();
    if (candidates.length === 0) return null;
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => votes.has(p.name));
      if (choice) votes.set(choice.name, votes.get(choice.name)! + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if (votes.get(c)! > votes.get(best)!) best = c;
    return best;
  }

  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  allJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  /**
   * Topics the members subscribe to, when the group speaks the consumer protocol; null means unknown
   * (another protocol, or metadata that does not parse), which callers treat as "everything".
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer') return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const meta = this.protocolName !== null ? m.metadataFor(this.protocolName) : m.protocols[0]?.metadata;
      if (!meta) continue;
      const list = subscribedTopics(meta);
      if (list === null) return null;
      for (const t of list) topics.add(t);
    }
    return topics;
  }
}
