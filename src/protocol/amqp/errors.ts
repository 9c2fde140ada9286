import { HARD_ERRORS, REPLY_NAMES } from './generated/constants.js';

/**
 * A protocol exception. Hard-error codes close the connection, soft ones the channel;
 * the reply text follows RabbitMQ's `NAME - detail` form because clients and people grep for it.
 */
export class AmqpError extends Error {
  readonly code: number;
  readonly classId: number;
  readonly methodId: number;

  constructor(code: number, detail: string, classId = 0, methodId = 0) {
    super(`${REPLY_NAMES[code] ?? 'ERROR'} - ${detail}`);
    this.name = 'AmqpError';
    this.code = code;
    this.classId = classId;
    this.methodId = methodId;
  }

  get hard(): boolean {
    return HARD_ERRORS.has(this.code);
  }

  /** Reply text limited to a shortstr. */
  get replyText(): string {
    let t = this.message;
    while (Buffer.byteLength(t) > 255) t = t.slice(0, -1);
    return t;
  }
}
