// One module per door. Adding a door's pages: write pages/DOOR.js exporting a register(app)
// function (app.nav for its menu entries, app.route for its pages) and list it here.
import overview from './overview.js';
import kafka from './kafka.js';
import amqp from './amqp.js';
import jobs from './jobs.js';
import schedules from './schedules.js';

export const pages = [overview, kafka, amqp, jobs, schedules];
