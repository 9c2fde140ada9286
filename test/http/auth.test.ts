import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { hashPassword } from '../../src/protocol/amqp/index.js';
import { apiClient } from './helpers.js';

describe('HTTP basic auth with the AMQP users', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({
      host: '127.0.0.1',
      logLevel: 'silent',
      amqp: { users: [{ name: 'alice', password: 's3cret' }, { name: 'bob', passwordHash: hashPassword('hunter2') }] },
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('refuses the API and /metrics without valid credentials, with a Basic challenge', async () => {
    for (const path of ['/api/overview', '/api/kafka/topics', '/metrics', '/api/no-such-route']) {
      const anon = await apiClient(broker.http.url)('GET', path);
      expect(anon.status).toBe(401);
      expect(anon.body).toMatchObject({ error: 'unauthorized' });
      expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm="railyard"/);
    }
    expect((await apiClient(broker.http.url, { user: 'alice', password: 'wrong' })('GET', '/api/overview')).status).toBe(401);
    expect((await apiClient(broker.http.url, { user: 'mallory', password: 's3cret' })('GET', '/api/overview')).status).toBe(401);
    expect((await apiClient(broker.http.url, { user: 'bob', password: 'hunter3' })('GET', '/api/overview')).status).toBe(401);
    const garbled = await fetch(broker.http.url + '/api/overview', { headers: { authorization: 'Basic !!!' } });
    expect(garbled.status).toBe(401);
    const noColon = await fetch(broker.http.url + '/api/overview', { headers: { authorization: 'Basic ' + Buffer.from('alice').toString('base64') } });
    expect(noColon.status).toBe(401);
  });

  it('accepts plain and hashed passwords; /health and /ready stay open for orchestrators', async () => {
    expect((await apiClient(broker.http.url, { user: 'alice', password: 's3cret' })('GET', '/api/overview')).status).toBe(200);
    const bob = apiClient(broker.http.url, { user: 'bob', password: 'hunter2' });
    expect((await bob('POST', '/api/kafka/topics', { name: 'authed' })).status).toBe(201);
    expect((await bob('GET', '/metrics')).status).toBe(200);
    expect((await apiClient(broker.http.url)('GET', '/health')).status).toBe(200);
    expect((await apiClient(broker.http.url)('GET', '/ready')).status).toBe(200);
  });
});

describe('binding', () => {
  it('binds where the broker host says (loopback by default)', async () => {
    const broker = await startBroker({ logLevel: 'silent' });
    try {
      expect(broker.http.url).toMatch(/^http:\/\/localhost:\d+$/);
      expect((await fetch(`http://127.0.0.1:${broker.http.port}/health`)).status).toBe(200);
      expect((await fetch(`http://[::1]:${broker.http.port}/health`)).status).toBe(200);
    } finally {
      await broker.stop();
    }
  });
});
