import net from 'node:net';
import { FrameReader } from '../../src/protocol/kafka/frame-reader.js';

/** Builds a request frame by hand (size prefix, header v1 or v2, body) so tests do not trust our own codecs. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer = Buffer.alloc(0), opts: { clientId?: string | null; headerVersion?: 1 | 2 } = {}): Buffer {
  const clientId = opts.clientId === undefined ? 'raw-test' : opts.clientId;
  const idBytes = clientId === null ? null : Buffer.from(clientId, 'utf8');
  const head = Buffer.alloc(8 + 2);
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(apiVersion, 2);
  head.writeInt32BE(correlationId, 4);
  head.writeInt16BE(idBytes === null ? -1 : idBytes.length, 8);
  const parts: Buffer[] = [head];
  if (idBytes) parts.push(idBytes);
  if (opts.headerVersion === 2) parts.push(Buffer.from([0])); // empty tagged fields
  parts.push(body);
  const payload = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

/** A bare socket that reads size-prefixed response frames. */
export class RawKafkaClient {
  // Response frames are the same size-prefixed format as requests (FrameReader has its own tests).
  private reader = new FrameReader(2 ** 31 - 1);
  private frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private ended = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let f = this.reader.next(); f !== null; f = this.reader.next()) this.frames.push(f);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, noDelay: true }, () => {
        s.off('error', reject);
        resolve(new RawKafkaClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** The next response frame (without its size prefix); rejects if the server closes first or on timeout. */
  async nextFrame(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ended) throw new Error('connection closed by server');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a response frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the server closes the connection within the timeout. */
  async closedWithin(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const r = await Promise.race([this.closedPromise.then(() => true), timeout]);
    clearTimeout(timer);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface ParsedApiVersions {
  correlationId: number;
  errorCode: number;
  ranges: Map<number, [number, number]>;
  throttleTimeMs?: number;
  /** Bytes left after the fields of the version parsed; 0 for a well-formed answer. */
  trailing: number;
}

function readUvarint(buf: Buffer, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++]!;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v >>> 0, at];
    shift += 7;
  }
}

/** Parses an ApiVersions response by hand, in the layout of `version` (response header v0 always). */
export function parseApiVersionsResponse(frame: Buffer, version: number): ParsedApiVersions {
  let at = 0;
  const correlationId = frame.readInt32BE(at);
  at += 4;
  const errorCode = frame.readInt16BE(at);
  at += 2;
  let n: number;
  if (version >= 3) {
    const [len, next] = readUvarint(frame, at);
    n = len - 1;
    at = next;
  } else {
    n = frame.readInt32BE(at);
    at += 4;
  }
  const ranges = new Map<number, [number, number]>();
  for (let i = 0; i < n; i++) {
    ranges.set(frame.readInt16BE(at), [frame.readInt16BE(at + 2), frame.readInt16BE(at + 4)]);
    at += 6;
    if (version >= 3) {
      const [tags, next] = readUvarint(frame, at);
      if (tags !== 0) throw new Error('unexpected tagged fields in an ApiVersions entry');
      at = next;
    }
  }
  let throttleTimeMs: number | undefined;
  if (version >= 1) {
    throttleTimeMs = frame.readInt32BE(at);
    at += 4;
  }
  if (version >= 3) {
    const [tags, next] = readUvarint(frame, at);
    at = next;
    for (let t = 0; t < tags; t++) {
      const [, afterTag] = readUvarint(frame, at);
      const [size, afterSize] = readUvarint(frame, afterTag);
      at = afterSize + size;
    }
  }
  return { correlationId, errorCode, ranges, throttleTimeMs, trailing: frame.length - at };
}

/** ApiVersions v3 body: compact strings for ClientSoftwareName/Version, then an empty tag section. */
export function apiVersionsV3Body(name: string, version: string): Buffer {
  const compact = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([b.length + 1]), b]);
  };
  return Buffer.concat([compact(name), compact(version), Buffer.from([0])]);
}
