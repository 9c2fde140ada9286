// A broker process for the crash test: `node --import tsx crash-child.ts DATA_DIR PORT`.
import { startEmbedded } from './helpers.js';

const [dataDir, port] = process.argv.slice(2);
const t = await startEmbedded({ amqpPort: Number(port ?? 0), fsync: 'interval' }, dataDir);
process.stdout.write(`ready ${t.port}\n`);
