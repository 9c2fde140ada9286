import { ErrorCode, UnrecoverableError } from 'bullmq';
import { RailyardError } from '../errors.js';

/**
 * The error BullMQ's own backends raise for a negative status code, with the same message and
 * `code`, so callers that match on either behave identically on Railyard.
 */
export class JobStateError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface FinishedErrorContext {
  readonly code: number;
  readonly jobId?: string;
  readonly parentKey?: string;
  readonly command: string;
  readonly state?: string;
}

export function finishedError({ code, jobId, parentKey, command, state }: FinishedErrorContext): Error & { code: number } {
  switch (code) {
    case ErrorCode.JobHasFailedChildren: {
      // BullMQ makes this one unrecoverable: retrying the parent cannot un-fail its child.
      const err = new UnrecoverableError(`Cannot complete job ${jobId} because it has at least one failed child. ${command}`) as UnrecoverableError & { code: number };
      err.code = code;
      return err;
    }
    case ErrorCode.JobNotExist:
      return new JobStateError(code, `Missing key for job ${jobId}. ${command}`);
    case ErrorCode.JobLockNotExist:
      return new JobStateError(code, `Missing lock for job ${jobId}. ${command}`);
    case ErrorCode.JobNotInState:
      return new JobStateError(code, `Job ${jobId} is not in the ${state} state. ${command}`);
    case ErrorCode.ParentJobCannotBeReplaced:
      return new JobStateError(code, `The parent job ${parentKey} cannot be replaced. ${command}`);
    case ErrorCode.JobPendingChildren:
      return new JobStateError(code, `Job ${jobId} has pending dependencies. ${command}`);
    case ErrorCode.ParentJobNotExist:
      return new JobStateError(code, `Missing key for parent job ${parentKey}. ${command}`);
    case ErrorCode.JobLockMismatch:
      return new JobStateError(code, `Lock mismatch for job ${jobId}. Cmd ${command} from ${state}`);
    case ErrorCode.JobBelongsToJobScheduler:
      return new JobStateError(code, `Job ${jobId} belongs to a job scheduler and cannot be removed directly. ${command}`);
    default:
      return new JobStateError(code, `Unknown code ${code} error for ${jobId}. ${command}`);
  }
}

/** A BullMQ feature this backend does not provide (yet); the message names it. */
export class UnsupportedOperationError extends RailyardError {
  readonly operation: string;
  constructor(operation: string, why: string) {
    super(`railyard jobs backend: ${operation} is not supported: ${why}`);
    this.operation = operation;
  }
}
