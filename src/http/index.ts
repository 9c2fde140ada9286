import http from 'node:http';
import { accessSync, constants } from 'node:fs';
import type { Socket } from 'node:net';
import type { BrokerContext, Door } from '../context.js';
import { listenTcp } from '../net/listen.js';

export interface HttpDoorDeps {
  /** The protocol doors, for /ready and connection counts. */
  doors: ReadonlyArray<readonly [string, Door]>;
}

type Json = Record<string, unknown>;

function send(res: http.ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The management door. It serves liveness and readiness for orchestrators and the overview;
 * the dashboard and the per-door APIs build on this router.
 */
export async function startHttpDoor(ctx: BrokerContext, deps: HttpDoorDeps): Promise<Door> {
  const started = Date.now();
  const sockets = new Set<Socket>();
  const storageWritable = (): boolean => {
    try {
      accessSync(ctx.options.dataDir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  const routes: Record<string, () => [number, Json]> = {
    '/health': () => [200, { status: 'ok' }],
    '/ready': () => {
      const doors = Object.fromEntries(deps.doors.map(([name, d]) => [name, d.port > 0]));
      const storage = storageWritable();
      const ready = storage && Object.values(doors).every(Boolean);
      return [ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', doors, storage }];
    },
    '/api/overview': () => [
      200,
      {
        uptimeMs: Date.now() - started,
        dataDir: ctx.options.dataDir,
        memory: process.memoryUsage(),
        connections: Object.fromEntries(deps.doors.map(([name, d]) => [name, d.connectionCount()])),
      },
    ],
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    if (!route) return send(res, 404, { error: 'not_found', message: `no route ${req.method} ${path}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method_not_allowed', message: `${req.method} ${path}` });
    try {
      const [status, body] = route();
      send(res, status, body);
    } catch (err) {
      ctx.logger.error('http handler failed', { path, err });
      send(res, 500, { error: 'internal', message: (err as Error).message });
    }
  });
  server.keepAliveTimeout = 5000;
  const listener = await listenTcp(ctx.options.host, ctx.options.httpPort, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    server.emit('connection', socket);
  });
  ctx.logger.info('listening', { host: ctx.options.host, port: listener.port });
  return {
    port: listener.port,
    connectionCount: () => sockets.size,
    close: async () => {
      await listener.close();
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
