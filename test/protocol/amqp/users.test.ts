import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkInterfaces } from 'node:os';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import amqp from 'amqplib';
import { hashPassword, verifyPassword } from '../../../src/protocol/amqp/index.js';
import { channel, startEmbedded, type TestTarget } from './helpers.js';

// Users and vhosts come from Railyard's own configuration, so this file needs the embedded door.
const embedded = process.env.RAILYARD_AMQP_URL === undefined;
const externalIp = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

let target: TestTarget;
let port: number;

beforeAll(async () => {
  if (!embedded) return;
  target = await startEmbedded({
    host: externalIp ? '0.0.0.0' : '127.0.0.1',
    amqp: {
      vhosts: ['/', 'prod'],
      users: [
        { name: 'guest', password: 'guest' },
        { name: 'app', passwordHash: hashPassword('s3cret'), vhosts: ['prod'] },
      ],
    },
  });
  port = target.port!;
});
afterAll(async () => {
  if (embedded) await target.stop();
});

const url = (user: string, pass: string, vhost: string, host = '127.0.0.1') => `amqp://${user}:${pass}@${host}:${port}/${encodeURIComponent(vhost)}`;

describe('password hashing', () => {
  it('uses salted SHA-256 as RabbitMQ does', () => {
    const h = hashPassword('secret');
    expect(Buffer.from(h, 'base64')).toHaveLength(36);
    expect(verifyPassword('secret', h)).toBe(true);
    expect(verifyPassword('Secret', h)).toBe(false);
    expect(hashPassword('secret')).not.toBe(h);
    // RabbitMQ's own hash of "guest" with salt 908dc60a, as its documentation derives it
    const known = hashPassword('guest', Buffer.from('908dc60a', 'hex'));
    expect(verifyPassword('guest', known)).toBe(true);
  });
});

describe.runIf(embedded)('users and vhosts from configuration', () => {
  it('lets a configured user into its vhost and keeps vhosts apart', async () => {
    const app = await amqp.connect(url('app', 's3cret', 'prod'));
    const ch = await channel(app);
    await ch.assertQueue('only-in-prod', { durable: false });
    const guest = await amqp.connect(url('guest', 'guest', '/'));
    const gch = await channel(guest);
    expect(String(await gch.checkQueue('only-in-prod').catch((e: Error) => e))).toContain("NOT_FOUND - no queue 'only-in-prod' in vhost '/'");
    await app.close();
    await guest.close();
  });

  it('refuses a vhost the user has no access to (530)', async () => {
    const err = await amqp.connect(url('app', 's3cret', '/')).catch((e: Error) => e);
    // amqplib reports a close during the handshake only as an unexpected ConnectionClose
    expect(String(err)).toMatch(/530|NOT_ALLOWED|ConnectionClose/);
  });

  it('refuses wrong passwords and unknown users (403)', async () => {
    expect(String(await amqp.connect(url('app', 'nope', 'prod')).catch((e: Error) => e))).toMatch(/403|ACCESS_REFUSED/);
    expect(String(await amqp.connect(url('mallory', 'x', 'prod')).catch((e: Error) => e))).toMatch(/403|ACCESS_REFUSED/);
  });

  it('stores only password hashes', () => {
    const db = new Database(join(target.dataDir!, 'railyard.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT name, password_hash FROM amqp_users ORDER BY name').all() as Array<{ name: string; password_hash: string }>;
      expect(rows.map((r) => r.name)).toEqual(['app', 'guest']);
      for (const r of rows) expect(r.password_hash).not.toMatch(/^(guest|s3cret)$/);
      expect(verifyPassword('guest', rows[1]!.password_hash)).toBe(true);
    } finally {
      db.close();
    }
  });

  it.runIf(externalIp !== undefined)('allows guest only from loopback, as RabbitMQ does', async () => {
    const err = await amqp.connect(url('guest', 'guest', '/', externalIp)).catch((e: Error) => e);
    expect(String(err)).toMatch(/403|ACCESS_REFUSED/);
    const app = await amqp.connect(url('app', 's3cret', 'prod', externalIp));
    await app.close();
  });
});
