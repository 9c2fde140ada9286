import type { KafkaApiHandler } from '../../handler.js';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponseInput,
  DescribeGroupsRequest,
  DescribeGroupsResponseDescribedGroupInput,
  DescribeGroupsResponseInput,
  ListGroupsRequest,
  ListGroupsResponseInput,
} from '../../generated/index.js';
import type { Coordinator } from '../coordinator.js';
import { ErrorCode } from '../errors.js';

function describeOne(c: Coordinator, groupId: string): DescribeGroupsResponseDescribedGroupInput {
  if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
  const d = c.describeGroup(groupId);
  // Kafka describes a group it does not know as an existing Dead one, not as an error.
  if (!d) return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
  return {
    errorCode: ErrorCode.NONE,
    groupId,
    groupState: d.state,
    protocolType: d.protocolType,
    protocolData: d.protocol,
    members: d.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: m.metadata,
      memberAssignment: m.assignment,
    })),
  };
}

/** DescribeGroups 0–4. */
export function createDescribeGroupsHandler(c: Coordinator): KafkaApiHandler<DescribeGroupsRequest, DescribeGroupsResponseInput> {
  return {
    apiKey: 15,
    minVersion: 0,
    maxVersion: 4,
    handle(req) {
      return { groups: req.groups.map((id) => describeOne(c, id)) };
    },
  };
}

/** ListGroups 0–2. */
export function createListGroupsHandler(c: Coordinator): KafkaApiHandler<ListGroupsRequest, ListGroupsResponseInput> {
  return {
    apiKey: 16,
    minVersion: 0,
    maxVersion: 2,
    handle() {
      return {
        errorCode: ErrorCode.NONE,
        groups: c.listGroups().map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state })),
      };
    },
  };
}

/** DeleteGroups 0–1: only Empty groups, with their committed offsets. */
export function createDeleteGroupsHandler(c: Coordinator): KafkaApiHandler<DeleteGroupsRequest, DeleteGroupsResponseInput> {
  return {
    apiKey: 42,
    minVersion: 0,
    maxVersion: 1,
    handle(req) {
      return { results: c.deleteGroups(req.groupsNames) };
    },
  };
}
