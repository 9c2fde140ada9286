/** The broker's own schedules: what src/broker.ts, the HTTP API and the CLI use. */
export { BrokerScheduler, type BrokerSchedulerOptions } from './broker-scheduler.js';
export { startBrokerSchedules, type BrokerSchedulesOptions } from './start.js';
export { ScheduleStore } from './store.js';
export { validateDefinition } from './validate.js';
export { kafkaEmitter } from './kafka-emitter.js';
export { jobEmitter, type JobEmitter } from './job-emitter.js';
export { amqpEmitter, type AmqpPublish, type AmqpPublishProps } from './amqp-emitter.js';
export { addScheduleRoutes, type ScheduleRoutesDeps } from './http-routes.js';
export {
  fillTemplate,
  type AmqpTarget,
  type CatchUpPolicy,
  type EmitContext,
  type Emitter,
  type Emitters,
  type JobTarget,
  type KafkaTarget,
  type ScheduleDefinition,
  type ScheduleTarget,
  type StoredSchedule,
} from './types.js';
