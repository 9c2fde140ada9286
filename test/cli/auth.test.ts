import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../src/broker.js';
import { runCli } from './run-cli.js';

describe('admin CLI against a broker with users', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({ host: '127.0.0.1', logLevel: 'silent', amqp: { users: [{ name: 'ops', password: 'p@ss:word' }] } });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('sends the credentials given in the --http URL and fails with exit 1 without them', async () => {
    const withCreds = `http://ops:${encodeURIComponent('p@ss:word')}@127.0.0.1:${broker.http.port}`;
    expect(await runCli(['topics', 'create', 'secured', '--http', withCreds])).toMatchObject({ code: 0 });
    const anon = await runCli(['topics', 'list', '--http', `http://127.0.0.1:${broker.http.port}`]);
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/credentials/);
  });
});
