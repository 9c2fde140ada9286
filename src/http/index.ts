import http from 'node:http';
import type { Socket } from 'node:net';
import type { BrokerContext, Door } from '../context.js';
import { listenTcp } from '../net/listen.js';
import type { GroupCoordinator } from '../protocol/kafka/groups/index.js';
import type { BrokerScheduler } from '../scheduler/broker-schedules/broker-scheduler.js';
import { addScheduleRoutes } from '../scheduler/broker-schedules/http-routes.js';
import { addAgendaRoutes } from './agenda.js';
import { addAmqpRoutes, type AmqpView } from './amqp.js';
import { createBasicAuth } from './auth.js';
import { addDashboardRoutes, isDashboardPath } from './dashboard/index.js';
import { readJson } from './body.js';
import { HttpError } from './errors.js';
import { addGroupRoutes } from './kafka-groups.js';
import { addRecordRoutes } from './kafka-records.js';
import { addTopicRoutes } from './kafka-topics.js';
import { addJobRoutes } from './jobs.js';
import { amqpQueueMetrics, createMetrics, type KafkaRequestSource } from './metrics.js';
import type { KafkaTrafficSource } from '../protocol/kafka/traffic.js';
import { addOverviewRoutes } from './overview.js';
import { Router, type Reply, type RequestInfo } from './router.js';

export type { KafkaRequestSample, KafkaRequestSource } from './metrics.js';

export interface HttpDoorDeps {
  /** The protocol doors, for /ready and connection counts. */
  doors: ReadonlyArray<readonly [string, Door]>;
  /** The Kafka door's group coordinator: group views, lag, offset resets. */
  groups?: GroupCoordinator;
  /** Finished Kafka requests, for the latency histogram in /metrics. */
  kafkaRequests?: KafkaRequestSource;
  /** The Kafka door's per-partition produce/fetch counters, for /metrics. */
  kafkaTraffic?: KafkaTrafficSource;
  /** Called after the API deletes a topic (the Kafka door drops its traffic counters for it). */
  onKafkaTopicDeleted?: (name: string) => void;
  /** The AMQP door's look inside (queue counts), served under /api/amqp. */
  amqp?: AmqpView;
  /** The broker's own schedules (src/scheduler/broker-schedules), served under /api/schedules. */
  schedules?: BrokerScheduler;
}

/** Answered without credentials: orchestrators probe them. */
const PUBLIC_PATHS = new Set(['/health', '/ready']);

function send(res: http.ServerResponse, reply: Reply, head: boolean, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  if (reply.status === 204) {
    res.writeHead(204, { 'cache-control': 'no-store', ...extraHeaders });
    res.end();
    return;
  }
  const contentType = reply.text ? reply.text.contentType : 'application/json; charset=utf-8';
  const data = reply.text ? reply.text.data : JSON.stringify(reply.body ?? {});
  res.writeHead(reply.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store', ...extraHeaders });
  res.end(head ? undefined : data);
}

function errorReply(err: HttpError): Reply {
  return { status: err.status, body: { error: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) } };
}

/**
 * The management door: liveness and readiness, the JSON API over topics, groups and records, and
 * Prometheus metrics. Adding a door's API means one `add...Routes(router, ...)` call here.
 */
export async function startHttpDoor(ctx: BrokerContext, deps: HttpDoorDeps): Promise<Door> {
  const startedAt = Date.now();
  const sockets = new Set<Socket>();
  const connections: Array<readonly [string, () => number]> = [...deps.doors.map(([name, d]) => [name, () => d.connectionCount()] as const), ['http', () => sockets.size]];
  const router = new Router();
  const jobs = addJobRoutes(router, ctx.options.dataDir);
  const amqpDoor = deps.amqp;
  const metrics = createMetrics({ log: ctx.log, groups: deps.groups, connections, kafkaRequests: deps.kafkaRequests, kafkaTraffic: deps.kafkaTraffic, scheduleEmits: deps.schedules ? (l) => deps.schedules!.onEmit(l) : undefined, collectors: [() => jobs.metricsText(), ...(amqpDoor ? [async () => amqpQueueMetrics(() => amqpDoor.queues())] : [])] });
  const auth = createBasicAuth(ctx.options.amqp.users);

  addOverviewRoutes(router, { ctx, doors: deps.doors, groups: deps.groups, startedAt });
  router.add('GET', '/metrics', async () => ({ status: 200, text: { contentType: metrics.contentType, data: await metrics.render() } }));
  addTopicRoutes(router, { log: ctx.log, groups: deps.groups, onTopicDeleted: deps.onKafkaTopicDeleted });
  addRecordRoutes(router, ctx.log);
  if (deps.groups) addGroupRoutes(router, ctx.log, deps.groups);
  if (deps.amqp) addAmqpRoutes(router, deps.amqp);
  const agenda = addAgendaRoutes(router, ctx.options.dataDir);
  if (deps.schedules) addScheduleRoutes(router, { scheduler: deps.schedules });
  addDashboardRoutes(router, { auth });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    try {
      if (auth && !PUBLIC_PATHS.has(path) && !isDashboardPath(path) && !auth(req.headers.authorization)) {
        return send(res, errorReply(new HttpError(401, 'unauthorized', 'valid credentials required (HTTP basic auth)')), head, {
          'www-authenticate': 'Basic realm="railyard", charset="UTF-8"',
        });
      }
      const match = router.match(method, path);
      if (match.kind === 'none') throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
      if (match.kind === 'wrong_method') {
        const allow = [...new Set(match.allowed)].join(', ');
        return send(res, errorReply(new HttpError(405, 'method_not_allowed', `${method} ${path}; allowed: ${allow}`)), head, { allow });
      }
      const info: RequestInfo = {
        method,
        path,
        params: match.params,
        query: new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)),
        json: () => readJson(req),
        raw: req,
      };
      send(res, await match.handler(info), head);
    } catch (err) {
      if (err instanceof HttpError) {
        // A refused oversized body is not read to its end; the connection cannot carry another request.
        return send(res, errorReply(err), head, err.status === 413 ? { connection: 'close' } : {});
      }
      ctx.logger.error('http handler failed', { method, path, err });
      send(res, errorReply(new HttpError(500, 'internal', (err as Error)?.message ?? String(err))), head);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      ctx.logger.error('http response failed', { err });
      if (!res.destroyed) res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('clientError', (_err, socket) => {
    // Malformed HTTP: answer 400 when the socket still takes writes, then drop it.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const listener = await listenTcp(ctx.options.host, ctx.options.httpPort, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    server.emit('connection', socket);
  });
  ctx.logger.info('listening', { host: ctx.options.host, port: listener.port, auth: auth !== null });
  return {
    port: listener.port,
    connectionCount: () => sockets.size,
    close: async () => {
      metrics.close();
      await jobs.close();
      await agenda.close();
      // Stop accepting first, then drop idle keep-alive connections, which would otherwise hold the close open.
      const stopping = listener.close();
      for (const s of sockets) s.destroy();
      server.close();
      await stopping;
    },
  };
}
