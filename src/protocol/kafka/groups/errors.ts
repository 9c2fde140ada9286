import { RailyardError } from '../../../errors.js';

/** Kafka error codes the group coordinator answers with. */
export const ErrorCode = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_NOT_AVAILABLE: 15,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
} as const;

export type GroupErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An admin call that Kafka only allows on a group without active members. */
export class GroupNotEmptyError extends RailyardError {
  readonly groupId: string;
  readonly state: string;
  constructor(groupId: string, state: string) {
    super(`group ${JSON.stringify(groupId)} is ${state}; its offsets can only be changed while it is Empty`);
    this.groupId = groupId;
    this.state = state;
  }
}
