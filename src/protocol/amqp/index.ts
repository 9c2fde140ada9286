import type net from 'node:net';
import type { BrokerContext, Door } from '../../context.js';
import { listenTcp } from '../../net/listen.js';
import { AmqpServer } from './server.js';
import { Connection } from './connection.js';

export { hashPassword, verifyPassword } from './auth.js';
import type { AlarmOptions } from './alarms.js';
export type { AlarmOptions };

/** Door internals tests and embedders may tune; the broker uses the defaults. */
export interface AmqpDoorOptions {
  alarms?: AlarmOptions;
}

/** A started AMQP door; `alarms` lets tests move the watermarks at run time. */
export interface AmqpDoor extends Door {
  setMemoryHighWatermark(bytes: number): void;
}

/** Starts the AMQP 0-9-1 listener on `ctx.options.host:amqpPort`. */
export async function startAmqpDoor(ctx: BrokerContext, opts: AmqpDoorOptions = {}): Promise<AmqpDoor> {
  const server = await AmqpServer.open(ctx, opts.alarms);
  const connections = new Set<Connection>();
  const sockets = new Set<net.Socket>();
  const listener = await listenTcp(ctx.options.host, ctx.options.amqpPort, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    connections.add(new Connection(socket, server, (c) => connections.delete(c)));
  });
  ctx.logger.info(`listening on ${ctx.options.host}:${listener.port}`);
  let closed: Promise<void> | undefined;
  return {
    port: listener.port,
    connectionCount: () => connections.size,
    setMemoryHighWatermark(bytes: number) {
      server.alarms.memoryHighWatermarkBytes = bytes;
      server.alarms.check();
    },
    close() {
      closed ??= (async () => {
        const stopping = listener.close();
        for (const c of [...connections]) c.forceClose();
        // Give clients a moment to answer close-ok, then drop whoever is left.
        await new Promise((r) => setTimeout(r, sockets.size > 0 ? 50 : 0));
        for (const s of sockets) s.destroy();
        await stopping;
        await server.close();
      })();
      return closed;
    },
  };
}
