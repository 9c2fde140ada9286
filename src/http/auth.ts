import { createHash, timingSafeEqual } from 'node:crypto';
import type { AmqpUser } from '../config.js';
import { verifyPassword } from '../protocol/amqp/index.js';

/** Checks an Authorization header; null when no users are configured (the API is open then). */
export type BasicAuth = (authorization: string | undefined) => boolean;

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** HTTP basic auth against the AMQP door's users (plain `password` or RabbitMQ-style `passwordHash`). */
export function createBasicAuth(users: readonly AmqpUser[] | undefined): BasicAuth | null {
  if (!users || users.length === 0) return null;
  const byName = new Map(users.map((u) => [u.name, u]));
  return (authorization) => {
    if (!authorization) return false;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = byName.get(decoded.slice(0, colon));
    if (!user) return false;
    const password = decoded.slice(colon + 1);
    if (user.passwordHash !== undefined) return verifyPassword(password, user.passwordHash);
    if (user.password !== undefined) return sameSecret(password, user.password);
    return false;
  };
}
