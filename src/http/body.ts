import type http from 'node:http';
import { HttpError, badRequest } from './errors.js';

/** Largest request body accepted; management calls are small, produce batches from the CLI stay below it. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Reads the whole body, refusing (413) anything over `limit` without buffering the excess. */
export function readBody(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, 'body_too_large', `request body of ${declared} bytes exceeds ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      req.removeAllListeners('data');
      // Keep draining so the socket can carry the 413 answer.
      req.resume();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) return fail(new HttpError(413, 'body_too_large', `request body exceeds ${limit} bytes`));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => fail(err));
  });
}

export async function readJson(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const buf = await readBody(req, limit);
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (err) {
    throw badRequest('body', `not valid JSON (${(err as Error).message})`);
  }
}
