/**
 * An error an HTTP handler throws on purpose: it becomes a JSON answer with this status, so a bad
 * request never reaches the generic 500 path.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request field at fault, for 400s. */
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, 'invalid_request', `${field}: ${message}`, field);
}

export function notFound(message: string): HttpError {
  return new HttpError(404, 'not_found', message);
}

export function conflict(message: string): HttpError {
  return new HttpError(409, 'conflict', message);
}
