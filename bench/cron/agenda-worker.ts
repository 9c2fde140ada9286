// Worker process for the wake-up bench: stock Agenda with an hour-long processEvery, so only the
// notification channel can make it notice a new job. Prints "<jobId> <ms>" when a job starts.
import { Agenda } from 'agenda';
import { RailyardAgendaBackend } from '../../src/agenda.js';

const [dataDir] = process.argv.slice(2) as [string];
const agenda = new Agenda({ backend: new RailyardAgendaBackend({ dataDir }), processEvery: 3_600_000 });
agenda.define('wake', async (job) => {
  process.stdout.write(`${String(job.attrs._id)} ${Date.now()}\n`);
});
await agenda.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void agenda.stop().then(() => process.exit(0));
});
