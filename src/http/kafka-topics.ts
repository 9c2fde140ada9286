import type { LogStore } from '../log/types.js';
import type { GroupCoordinator } from '../protocol/kafka/groups/index.js';
import { badRequest } from './errors.js';
import { fromLogError, requireTopic, topicView } from './kafka-view.js';
import type { Router } from './router.js';
import { objectBody, optionalBoolean, optionalInt, requiredString, stringMap } from './validate.js';

/** More partitions than this in one topic is a typo, not a plan. */
export const MAX_PARTITIONS = 10_000;

export interface TopicRoutesDeps {
  log: LogStore;
  /** Present when the Kafka door runs; deleting a topic drops the groups' offsets for it, as DeleteTopics does. */
  groups?: GroupCoordinator;
  /** Told of each topic deleted here, so per-topic state kept elsewhere (the Kafka door's traffic counters) goes too. */
  onTopicDeleted?: (name: string) => void;
}

/** Kafka topics: list, detail with every effective config, create, delete, alter configs. */
export function addTopicRoutes(router: Router, deps: TopicRoutesDeps): void {
  const { log } = deps;

  router.add('GET', '/api/kafka/topics', () => {
    const topics = log.topics().map((t) => topicView(log, t));
    topics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { status: 200, body: { topics } };
  });

  router.add('GET', '/api/kafka/topics/:name', (req) => {
    const info = requireTopic(log, req.params.name!);
    return { status: 200, body: { ...topicView(log, info), effectiveConfigs: log.describeConfigs(info.name) } };
  });

  router.add('POST', '/api/kafka/topics', async (req) => {
    const body = objectBody(await req.json());
    const name = requiredString(body, 'name');
    const partitions = optionalInt(body, 'partitions', 1, MAX_PARTITIONS) ?? 1;
    const configs = body.configs === undefined ? {} : (stringMap(body.configs, 'configs', false) as Record<string, string>);
    const validateOnly = optionalBoolean(body, 'validateOnly') ?? false;
    let info;
    try {
      info = log.createTopic(name, { partitions, configs, validateOnly });
    } catch (err) {
      throw fromLogError(err);
    }
    if (validateOnly) return { status: 200, body: { name: info.name, partitions: info.partitions, configs: info.configs, validateOnly: true } };
    return { status: 201, body: topicView(log, info) };
  });

  router.add('DELETE', '/api/kafka/topics/:name', async (req) => {
    const info = requireTopic(log, req.params.name!);
    try {
      await log.deleteTopic(info.name);
    } catch (err) {
      throw fromLogError(err);
    }
    deps.groups?.forgetTopic(info.name);
    deps.onTopicDeleted?.(info.name);
    return { status: 200, body: { deleted: info.name } };
  });

  router.add('POST', '/api/kafka/topics/:name/partitions', async (req) => {
    const info = requireTopic(log, req.params.name!);
    const body = objectBody(await req.json());
    const count = optionalInt(body, 'count', 1, MAX_PARTITIONS);
    if (count === undefined) throw badRequest('count', 'required: the new total number of partitions');
    let updated;
    try {
      updated = log.createPartitions(info.name, count);
    } catch (err) {
      throw fromLogError(err, { partitions: 'count' });
    }
    return { status: 200, body: topicView(log, updated) };
  });

  router.add('PATCH', '/api/kafka/topics/:name/configs', async (req) => {
    const info = requireTopic(log, req.params.name!);
    const body = objectBody(await req.json());
    if (body.configs === undefined) throw badRequest('configs', 'required: an object of config names to values (null removes an override)');
    const configs = stringMap(body.configs, 'configs', true);
    const replace = optionalBoolean(body, 'replace') ?? false;
    let updated;
    try {
      updated = log.alterTopicConfigs(info.name, configs, replace ? 'replace' : 'incremental');
    } catch (err) {
      throw fromLogError(err);
    }
    return { status: 200, body: { ...topicView(log, updated), effectiveConfigs: log.describeConfigs(updated.name) } };
  });
}
