import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../logger.js';
import { ErrorCode } from './errors.js';
import {
  EMPTY_BYTES,
  Group,
  Member,
  joinError,
  syncError,
  type JoinOutcome,
  type MemberProtocol,
  type SyncOutcome,
} from './group.js';

export interface JoinParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+: a new dynamic member first gets its id with MEMBER_ID_REQUIRED and must rejoin. */
  requireKnownMemberId: boolean;
}

export interface SyncParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+ only; null skips the check. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface HeartbeatParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveOutcome {
  errorCode: number;
  members: Array<MemberIdentity & { errorCode: number }>;
}

export interface MembershipOptions {
  initialRebalanceDelayMs: number;
  logger: Logger;
  /** The group finished a join phase (new generation, maybe Empty); the store records it. */
  onGeneration(group: Group): void;
}

type Pending<T> = T | Promise<T>;

/**
 * The join/sync/heartbeat/leave state machine of Kafka's classic group protocol. Parked JoinGroup and
 * SyncGroup requests are unresolved promises whose resolvers live on the member; every way out of a
 * phase (completion, timeout, removal, close) resolves them, so no connection is left waiting.
 */
export class Membership {
  private closed = false;

  constructor(
    private readonly groups: Map<string, Group>,
    private readonly opts: MembershipOptions,
  ) {}

  join(p: JoinParams): Pending<JoinOutcome> {
    if (p.groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, p.memberId);
    if (this.closed) return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, p.memberId);
    if (p.sessionTimeoutMs <= 0) return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, p.memberId);
    let group = this.groups.get(p.groupId);
    if (!group) {
      if (p.memberId !== '') return joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId);
      group = new Group(p.groupId, null);
      this.groups.set(p.groupId, group);
    }
    if (group.state === 'Dead') return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, p.memberId);
    return p.memberId === '' ? this.joinNew(group, p) : this.joinKnown(group, p);
  }

  sync(p: SyncParams): Pending<SyncOutcome> {
    if (p.groupId === '') return syncError(ErrorCode.INVALID_GROUP_ID);
    if (this.closed) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = this.groups.get(p.groupId);
    if (!group) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.state === 'Dead') return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const checked = this.checkMember(group, p.memberId, p.groupInstanceId, p.generationId);
    if (typeof checked === 'number') return syncError(checked);
    const member = checked;
    if (
      (p.protocolType !== null && p.protocolType !== group.protocolType) ||
      (p.protocolName !== null && p.protocolName !== group.protocolName)
    ) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    member.lastSeen = Date.now();
    switch (group.state) {
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        return this.syncResult(group, member);
      case 'CompletingRebalance': {
        this.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        const parked = new Promise<SyncOutcome>((resolve) => (member.awaitingSync = resolve));
        if (group.leaderId === member.memberId) this.distributeAssignment(group, p.assignments);
        return parked;
      }
      default:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  heartbeat(p: HeartbeatParams): number {
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const group = this.groups.get(p.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const checked = this.checkMember(group, p.memberId, p.groupInstanceId, p.generationId);
    if (typeof checked === 'number') return checked;
    checked.lastSeen = Date.now();
    switch (group.state) {
      case 'PreparingRebalance':
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        return ErrorCode.NONE;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  leave(groupId: string, members: readonly MemberIdentity[]): LeaveOutcome {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const group = this.groups.get(groupId);
    if (!group) {
      return { errorCode: ErrorCode.NONE, members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    }
    if (group.state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    return { errorCode: ErrorCode.NONE, members: members.map((m) => ({ ...m, errorCode: this.leaveOne(group, m) })) };
  }

  /**
   * Validates a member acting in a generation (OffsetCommit from a group member): returns the member, or
   * the error code Kafka answers with.
   */
  checkMember(group: Group, memberId: string, groupInstanceId: string | null, generationId: number): Member | number {
    if (groupInstanceId !== null) {
      const owner = group.staticMembers.get(groupInstanceId);
      if (owner !== undefined && owner !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return member;
  }

  /** Answers every parked request with COORDINATOR_NOT_AVAILABLE and stops every timer. */
  close(): void {
    this.closed = true;
    for (const group of this.groups.values()) {
      this.clearGroupTimers(group);
      for (const timer of group.pendingMembers.values()) clearTimeout(timer);
      group.pendingMembers.clear();
      for (const m of group.members.values()) {
        if (m.sessionTimer) clearTimeout(m.sessionTimer);
        m.sessionTimer = null;
        this.answerJoin(m, joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, m.memberId));
        this.answerSync(m, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
  }

  private joinNew(group: Group, p: JoinParams): Pending<JoinOutcome> {
    if (!group.supportsProtocols(p.protocolType, p.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const newId = `${p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const existing = group.staticMember(p.groupInstanceId);
      if (existing) return this.replaceStaticMember(group, existing, newId, p);
      return this.addMemberAndRebalance(group, newId, p);
    }
    if (p.requireKnownMemberId) {
      const timer = setTimeout(() => {
        group.pendingMembers.delete(newId);
        this.tryCompleteJoin(group);
      }, p.sessionTimeoutMs);
      timer.unref();
      group.pendingMembers.set(newId, timer);
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, newId);
    }
    return this.addMemberAndRebalance(group, newId, p);
  }

  private joinKnown(group: Group, p: JoinParams): Pending<JoinOutcome> {
    const pending = group.pendingMembers.get(p.memberId);
    if (pending) {
      if (!group.supportsProtocols(p.protocolType, p.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId);
      clearTimeout(pending);
      group.pendingMembers.delete(p.memberId);
      return this.addMemberAndRebalance(group, p.memberId, p);
    }
    if (p.groupInstanceId !== null) {
      const owner = group.staticMembers.get(p.groupInstanceId);
      if (owner !== undefined && owner !== p.memberId) return joinError(ErrorCode.FENCED_INSTANCE_ID, p.memberId);
    }
    const member = group.members.get(p.memberId);
    if (!member) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId);
    if (!group.supportsProtocols(p.protocolType, p.protocols, member.memberId)) {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId);
    }
    member.lastSeen = Date.now();
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, p);
      case 'CompletingRebalance':
        // A retried JoinGroup whose answer was lost: give the same generation back.
        if (member.sameProtocols(p.protocols)) return this.generationFor(group, member);
        return this.updateMemberAndRebalance(group, member, p);
      case 'Stable':
        // The leader rejoins on purpose (e.g. it saw new partitions), so it always gets a rebalance.
        if (group.leaderId === member.memberId || !member.sameProtocols(p.protocols)) {
          return this.updateMemberAndRebalance(group, member, p);
        }
        return this.generationFor(group, member);
      default:
        return joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId);
    }
  }

  /**
   * A static member restarted: it takes over the old member's place under a new id, and the old id is
   * fenced. With unchanged metadata in a Stable group the assignment stays, so no rebalance happens.
   */
  private replaceStaticMember(group: Group, existing: Member, newId: string, p: JoinParams): Pending<JoinOutcome> {
    this.answerJoin(existing, joinError(ErrorCode.FENCED_INSTANCE_ID, existing.memberId));
    this.answerSync(existing, syncError(ErrorCode.FENCED_INSTANCE_ID));
    group.replaceMemberId(existing, newId);
    existing.clientId = p.clientId;
    existing.clientHost = p.clientHost;
    existing.sessionTimeoutMs = p.sessionTimeoutMs;
    existing.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    existing.lastSeen = Date.now();
    if (group.state === 'Stable' && existing.sameProtocols(p.protocols)) {
      this.opts.logger.debug('static member rejoined without rebalance', { group: group.groupId, member: newId });
      return this.generationFor(group, existing);
    }
    return this.updateMemberAndRebalance(group, existing, p);
  }

  private addMemberAndRebalance(group: Group, memberId: string, p: JoinParams): Promise<JoinOutcome> {
    const member = new Member({
      memberId,
      groupInstanceId: p.groupInstanceId,
      clientId: p.clientId,
      clientHost: p.clientHost,
      sessionTimeoutMs: p.sessionTimeoutMs,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs,
      protocolType: p.protocolType,
      protocols: p.protocols,
    });
    group.add(member);
    const parked = new Promise<JoinOutcome>((resolve) => (member.awaitingJoin = resolve));
    this.armSession(group, member, member.sessionTimeoutMs);
    if (group.state === 'PreparingRebalance') this.extendInitialDelay(group);
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return parked;
  }

  private updateMemberAndRebalance(group: Group, member: Member, p: JoinParams): Promise<JoinOutcome> {
    member.protocols = p.protocols;
    member.protocolType = p.protocolType;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.clientId = p.clientId;
    member.clientHost = p.clientHost;
    // A client that gave up on an earlier JoinGroup must not leave that request hanging on its connection.
    this.answerJoin(member, joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    const parked = new Promise<JoinOutcome>((resolve) => (member.awaitingJoin = resolve));
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return parked;
  }

  private maybePrepareRebalance(group: Group): void {
    if (group.state !== 'Stable' && group.state !== 'CompletingRebalance' && group.state !== 'Empty') return;
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        m.assignment = EMPTY_BYTES;
        this.answerSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    const wasEmpty = group.state === 'Empty';
    group.state = 'PreparingRebalance';
    const timeout = group.rebalanceTimeoutMs();
    this.clearGroupTimers(group);
    group.joinTimer = setTimeout(() => this.completeJoin(group), timeout);
    group.joinTimer.unref();
    const delay = this.opts.initialRebalanceDelayMs;
    if (wasEmpty && delay > 0) {
      group.initialDelayStart = Date.now();
      this.setJoinNotBefore(group, group.initialDelayStart + Math.min(delay, timeout));
    } else {
      group.joinNotBefore = 0;
    }
  }

  /** Each member arriving during the initial delay pushes it back, up to the rebalance timeout. */
  private extendInitialDelay(group: Group): void {
    const now = Date.now();
    if (group.joinNotBefore <= now) return;
    const cap = group.initialDelayStart + group.rebalanceTimeoutMs();
    this.setJoinNotBefore(group, Math.min(now + this.opts.initialRebalanceDelayMs, cap));
  }

  private setJoinNotBefore(group: Group, at: number): void {
    group.joinNotBefore = at;
    if (group.delayTimer) clearTimeout(group.delayTimer);
    group.delayTimer = setTimeout(() => {
      group.delayTimer = null;
      // Timers may fire a hair before Date.now() reaches `at`; this one firing is what ends the delay.
      group.joinNotBefore = 0;
      this.tryCompleteJoin(group);
    }, Math.max(0, at - Date.now()));
    group.delayTimer.unref();
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    if (Date.now() < group.joinNotBefore) return;
    if (group.allJoined()) this.completeJoin(group);
  }

  /** Ends the join phase: drops members that did not rejoin, starts the next generation, answers joiners. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    this.clearGroupTimers(group);
    group.joinNotBefore = 0;
    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin) this.dropMember(group, m);
    }
    group.generationId++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      this.opts.onGeneration(group);
      return;
    }
    group.protocolName = group.selectProtocol() ?? '';
    group.state = 'CompletingRebalance';
    this.opts.onGeneration(group);
    this.opts.logger.debug('join phase complete', {
      group: group.groupId,
      generation: group.generationId,
      members: group.members.size,
      protocol: group.protocolName,
    });
    const now = Date.now();
    for (const m of group.members.values()) {
      m.lastSeen = now;
      this.answerJoin(m, this.generationFor(group, m));
    }
  }

  private distributeAssignment(group: Group, assignments: SyncParams['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of group.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY_BYTES;
    group.state = 'Stable';
    for (const m of group.members.values()) this.answerSync(m, this.syncResult(group, m));
  }

  private leaveOne(group: Group, who: MemberIdentity): number {
    if (who.groupInstanceId !== null) {
      const member = group.staticMember(who.groupInstanceId);
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (who.memberId !== '' && who.memberId !== member.memberId) return ErrorCode.FENCED_INSTANCE_ID;
      this.removeMemberAndUpdateGroup(group, member);
      return ErrorCode.NONE;
    }
    const pending = group.pendingMembers.get(who.memberId);
    if (pending) {
      clearTimeout(pending);
      group.pendingMembers.delete(who.memberId);
      this.tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(who.memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(group, member);
    return ErrorCode.NONE;
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member): void {
    this.dropMember(group, member);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group);
        this.tryCompleteJoin(group);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  private dropMember(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    this.answerJoin(member, joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    this.answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
  }

  /**
   * One timer per member that is not re-armed on each heartbeat: it fires, compares with `lastSeen`
   * and sleeps for the remainder. A member parked in JoinGroup or SyncGroup is alive by definition.
   */
  private armSession(group: Group, member: Member, ms: number): void {
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) !== member) return;
      const now = Date.now();
      if (member.awaitingJoin || member.awaitingSync) member.lastSeen = now;
      const left = member.lastSeen + member.sessionTimeoutMs - now;
      if (left > 0) {
        this.armSession(group, member, left);
        return;
      }
      this.opts.logger.debug('member session expired', { group: group.groupId, member: member.memberId });
      this.removeMemberAndUpdateGroup(group, member);
    }, ms);
    member.sessionTimer.unref();
  }

  private generationFor(group: Group, member: Member): JoinOutcome {
    const isLeader = group.leaderId === member.memberId;
    const protocolName = group.protocolName ?? '';
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: m.metadataFor(protocolName),
          }))
        : [],
    };
  }

  private syncResult(group: Group, member: Member): SyncOutcome {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  private answerJoin(member: Member, outcome: JoinOutcome): void {
    const resolve = member.awaitingJoin;
    member.awaitingJoin = null;
    resolve?.(outcome);
  }

  private answerSync(member: Member, outcome: SyncOutcome): void {
    const resolve = member.awaitingSync;
    member.awaitingSync = null;
    resolve?.(outcome);
  }

  private clearGroupTimers(group: Group): void {
    if (group.joinTimer) clearTimeout(group.joinTimer);
    if (group.delayTimer) clearTimeout(group.delayTimer);
    group.joinTimer = null;
    group.delayTimer = null;
  }
}
