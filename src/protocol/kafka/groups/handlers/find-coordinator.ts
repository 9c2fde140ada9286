import type { BrokerContext } from '../../../../context.js';
import type { KafkaApiHandler } from '../../handler.js';
import type { FindCoordinatorRequest, FindCoordinatorResponseInput } from '../../generated/index.js';
import { ErrorCode } from '../errors.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

/** FindCoordinator 0–2: one broker coordinates every group and every transactional id. */
export function createFindCoordinatorHandler(ctx: BrokerContext): KafkaApiHandler<FindCoordinatorRequest, FindCoordinatorResponseInput> {
  return {
    apiKey: 10,
    minVersion: 0,
    maxVersion: 2,
    handle(req, rc) {
      if (req.keyType !== KEY_TYPE_GROUP && req.keyType !== KEY_TYPE_TRANSACTION) {
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown coordinator key type ${req.keyType}`, nodeId: -1, host: '', port: -1 };
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        nodeId: 0,
        host: ctx.options.kafka.advertisedHost ?? rc.conn.localAddress,
        port: rc.conn.localPort,
      };
    },
  };
}
