import type net from 'node:net';
import type { Logger } from '../../logger.js';
import { listenTcp } from '../../net/listen.js';
import { KafkaConnection, type ConnectionLimits, type ProcessorFactory } from './connection.js';
import { FrameBufferPool } from './frame-reader.js';
import { BlockPool, Slab } from '../../log/slab.js';
import { PooledReads } from '../../net/pooled-reads.js';

export interface KafkaServerOptions {
  host: string;
  port: number;
  createProcessor: ProcessorFactory;
  limits: ConnectionLimits;
  logger: Logger;
}

export interface KafkaServer {
  port: number;
  host: string;
  connectionCount(): number;
  /** Stops accepting and closes every open connection. */
  close(): Promise<void>;
}

/** A fetch of 1 MiB per partition reads a bit more than 1 MiB: three of them fit a block. */
const READ_BLOCK_BYTES = 4 * 1024 * 1024;
const READ_BLOCKS_KEPT = 12;
/** Pooled buffers unused for this long are given back to the system. */
const TRIM_MS = 30_000;

/** Accepts Kafka client connections and hands each socket to a KafkaConnection. */
export async function startKafkaServer(opts: KafkaServerOptions): Promise<KafkaServer> {
  const connections = new Set<KafkaConnection>();
  let nextId = 1;
  let closing = false;
  // One pool for all connections: a producer's frames come back to it as soon as their appends settle.
  const pool = new FrameBufferPool();
  // Fetch responses read files into these blocks, recycled once written: reused pages, not fresh ones.
  const readPool = new BlockPool(READ_BLOCK_BYTES, READ_BLOCKS_KEPT);
  const trim = setInterval(() => {
    pool.trim();
    readPool.trim();
  }, TRIM_MS);
  trim.unref();
  const resources = {
    framePool: pool,
    readPool,
    // Small frames are copied out of the shared read buffer into slices of one slab.
    smallFrames: new Slab(16 * 1024, 64 * 1024),
    reads: new PooledReads(),
  };
  const onSocket = (socket: net.Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const conn = new KafkaConnection(socket, nextId++, opts.createProcessor, opts.limits, opts.logger, resources);
    connections.add(conn);
    opts.logger.debug('connection opened', { conn: conn.info.id, remote: `${conn.info.remoteAddress}:${conn.info.remotePort}` });
    conn.socket.once('close', () => {
      connections.delete(conn);
      opts.logger.debug('connection closed', { conn: conn.info.id });
    });
  };
  const listener = await listenTcp(opts.host, opts.port, onSocket, { pauseOnConnect: true });
  opts.logger.info(`listening on ${listener.host}:${listener.port}`);
  return {
    port: listener.port,
    host: listener.host,
    connectionCount: () => connections.size,
    close: async () => {
      closing = true;
      clearInterval(trim);
      // net.Server.close() only calls back once every connection is gone, so destroy them first.
      const stopped = listener.close();
      for (const c of connections) c.destroy();
      await stopped;
    },
  };
}
