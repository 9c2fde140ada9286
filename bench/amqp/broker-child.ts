// Runs a Railyard broker in its own process so the benchmark client does not share its event loop.
import { startBroker } from '../../src/broker.js';

const b = await startBroker({ host: '127.0.0.1', logLevel: 'warn', fsync: (process.env.RAILYARD_FSYNC as 'always' | 'interval' | 'never' | undefined) ?? 'interval' });
process.stdout.write(`${b.amqp.url}\n`);
const stop = () => void b.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
