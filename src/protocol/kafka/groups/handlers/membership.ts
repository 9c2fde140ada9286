import type { KafkaApiHandler } from '../../handler.js';
import type {
  HeartbeatRequest,
  HeartbeatResponseInput,
  JoinGroupRequest,
  JoinGroupResponseInput,
  LeaveGroupRequest,
  LeaveGroupResponseInput,
  SyncGroupRequest,
  SyncGroupResponseInput,
} from '../../generated/index.js';
import type { Coordinator } from '../coordinator.js';
import { ErrorCode } from '../errors.js';
import type { JoinOutcome, SyncOutcome } from '../group.js';

function joinResponse(o: JoinOutcome): JoinGroupResponseInput {
  return {
    errorCode: o.errorCode,
    generationId: o.generationId,
    protocolType: o.protocolType,
    // Nullable only from v7; the versions served here carry "" when no protocol was chosen.
    protocolName: o.protocolName ?? '',
    leader: o.leader,
    memberId: o.memberId,
    members: o.members,
  };
}

function syncResponse(o: SyncOutcome): SyncGroupResponseInput {
  return { errorCode: o.errorCode, protocolType: o.protocolType, protocolName: o.protocolName, assignment: o.assignment };
}

/** JoinGroup 0–5. v0 has no rebalance timeout (the session timeout serves as both). */
export function createJoinGroupHandler(c: Coordinator): KafkaApiHandler<JoinGroupRequest, JoinGroupResponseInput> {
  return {
    apiKey: 11,
    minVersion: 0,
    maxVersion: 5,
    handle(req, rc) {
      const outcome = c.membership.join({
        groupId: req.groupId,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: rc.apiVersion >= 1 && req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
        protocolType: req.protocolType,
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
        clientId: rc.clientId ?? '',
        clientHost: rc.conn.remoteAddress,
        requireKnownMemberId: rc.apiVersion >= 4,
      });
      return outcome instanceof Promise ? outcome.then(joinResponse) : joinResponse(outcome);
    },
  };
}

/** SyncGroup 0–3. */
export function createSyncGroupHandler(c: Coordinator): KafkaApiHandler<SyncGroupRequest, SyncGroupResponseInput> {
  return {
    apiKey: 14,
    minVersion: 0,
    maxVersion: 3,
    handle(req) {
      const outcome = c.membership.sync({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        protocolType: req.protocolType,
        protocolName: req.protocolName,
        // Copies: the decoded bytes are views into the request frame, and assignments outlive it.
        assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
      });
      return outcome instanceof Promise ? outcome.then(syncResponse) : syncResponse(outcome);
    },
  };
}

/** Heartbeat 0–3. */
export function createHeartbeatHandler(c: Coordinator): KafkaApiHandler<HeartbeatRequest, HeartbeatResponseInput> {
  return {
    apiKey: 12,
    minVersion: 0,
    maxVersion: 3,
    handle(req) {
      return { errorCode: c.membership.heartbeat(req) };
    },
  };
}

/** LeaveGroup 0–3; v3 carries a batch of members, earlier versions one member id and one error. */
export function createLeaveGroupHandler(c: Coordinator): KafkaApiHandler<LeaveGroupRequest, LeaveGroupResponseInput> {
  return {
    apiKey: 13,
    minVersion: 0,
    maxVersion: 3,
    handle(req, rc) {
      const batched = rc.apiVersion >= 3;
      const who = batched ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId, groupInstanceId: null }];
      const outcome = c.membership.leave(req.groupId, who);
      if (batched) return { errorCode: outcome.errorCode, members: outcome.members };
      const memberError = outcome.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
      return { errorCode: outcome.errorCode !== ErrorCode.NONE ? outcome.errorCode : memberError };
    },
  };
}
