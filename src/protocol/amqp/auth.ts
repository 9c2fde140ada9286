import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Reader, type FieldTable } from './wire.js';

/**
 * RabbitMQ's `rabbit_password_hashing_sha256` format: base64(salt(4) ++ sha256(salt ++ password)),
 * so hashes can move between the two brokers' user lists.
 */
export function hashPassword(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export function verifyPassword(password: string, stored: string): boolean {
  const raw = Buffer.from(stored, 'base64');
  if (raw.length !== 36) return false;
  const expected = Buffer.from(hashPassword(password, raw.subarray(0, 4)), 'base64');
  return timingSafeEqual(raw, expected);
}

export interface Credentials {
  user: string;
  password: string;
}

/** PLAIN: `authzid NUL authcid NUL password` (RFC 4616). */
function parsePlain(response: Buffer): Credentials | undefined {
  const parts = response.toString('utf8').split('\0');
  if (parts.length !== 3) return undefined;
  return { user: parts[1]!, password: parts[2]! };
}

/** AMQPLAIN: a field table without its length prefix holding LOGIN and PASSWORD. */
function parseAmqplain(response: Buffer): Credentials | undefined {
  const prefixed = Buffer.alloc(response.length + 4);
  prefixed.writeUInt32BE(response.length, 0);
  response.copy(prefixed, 4);
  let table: FieldTable;
  try {
    table = new Reader(prefixed).table();
  } catch {
    return undefined;
  }
  const login = table.get('LOGIN');
  const password = table.get('PASSWORD');
  const text = (v: typeof login) => (v && (v.type === 'S' || v.type === 'x') ? v.value.toString('utf8') : undefined);
  const user = text(login);
  const pass = text(password);
  if (user === undefined || pass === undefined) return undefined;
  return { user, password: pass };
}

export const MECHANISMS = ['PLAIN', 'AMQPLAIN'] as const;

export function parseCredentials(mechanism: string, response: Buffer): Credentials | undefined {
  if (mechanism === 'PLAIN') return parsePlain(response);
  if (mechanism === 'AMQPLAIN') return parseAmqplain(response);
  return undefined;
}
