import net from 'node:net';

export interface Listener {
  /** The port every socket is bound to (the one picked when 0 was asked for). */
  port: number;
  /** Host to print in the ready line. */
  host: string;
  close(): Promise<void>;
}

function listenOne(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

export interface ListenOptions {
  /** Hand over sockets that have not read anything yet, as `PooledReads.adopt` needs. */
  pauseOnConnect?: boolean;
}

/**
 * Listens on `host:port`. `localhost` means both 127.0.0.1 and ::1 on the same port, because
 * Node clients resolve `localhost` to either address and both must reach us.
 */
export async function listenTcp(host: string, port: number, onConnection: (socket: net.Socket) => void, opts: ListenOptions = {}): Promise<Listener> {
  const make = () => net.createServer({ noDelay: true, pauseOnConnect: opts.pauseOnConnect === true }, onConnection);
  if (host !== 'localhost') {
    const server = make();
    await listenOne(server, host, port);
    const addr = server.address() as net.AddressInfo;
    return { port: addr.port, host, close: () => closeServer(server) };
  }
  // Port 0: the v4 socket picks, the v6 socket must follow; if another process holds that v6 port, retry.
  for (let attempt = 0; ; attempt++) {
    const v4 = make();
    await listenOne(v4, '127.0.0.1', port);
    const picked = (v4.address() as net.AddressInfo).port;
    const v6 = make();
    try {
      await listenOne(v6, '::1', picked);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
        // No IPv6 loopback on this machine: IPv4 alone is all localhost can mean.
        return { port: picked, host, close: () => closeServer(v4) };
      }
      await closeServer(v4);
      if (port !== 0 || attempt >= 20) throw err;
      continue;
    }
    return { port: picked, host, close: async () => void (await Promise.all([closeServer(v4), closeServer(v6)])) };
  }
}
