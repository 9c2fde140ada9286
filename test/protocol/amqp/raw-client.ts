import net from 'node:net';
import { encodeMethod, decodeMethodArgs, type Method } from '../../../src/protocol/amqp/generated/methods.js';
import { Reader, Writer, type FieldTable } from '../../../src/protocol/amqp/wire.js';

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

export function methodFrame(channel: number, m: Method): Buffer {
  const w = new Writer();
  encodeMethod(w, m);
  const payload = w.take();
  return frame(1, channel, payload);
}

export function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = end;
  return b;
}

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
  method?: Method;
}

/** A byte-level AMQP peer for tests that must send what no real client would. */
export class RawClient {
  private buf = Buffer.alloc(0);
  readonly frames: RawFrame[] = [];
  raw = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.raw = Buffer.concat([this.raw, d]);
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(): void {
    // The server answers a bad protocol header with its own header, which is not a frame.
    if (this.buf.subarray(0, 4).toString('latin1') === 'AMQP') return;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < size + 8) return;
      const f: RawFrame = { type: this.buf[0]!, channel: this.buf.readUInt16BE(1), payload: this.buf.subarray(7, 7 + size) };
      if (f.type === 1) {
        const r = new Reader(f.payload);
        const id = (r.u16() << 16) | r.u16();
        f.method = decodeMethodArgs(id, r);
      }
      this.frames.push(f);
      this.buf = this.buf.subarray(size + 8);
    }
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  send(channel: number, m: Method): void {
    this.write(methodFrame(channel, m));
  }

  /** Waits for a method frame of `kind` (searching from the first frame not consumed yet). */
  async expect<K extends Method['kind']>(kind: K, ms = 5000): Promise<Extract<Method, { kind: K }>> {
    const until = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f.method?.kind === kind);
      if (i >= 0) {
        const f = this.frames.splice(0, i + 1)[i]!;
        return f.method as Extract<Method, { kind: K }>;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${kind}; got ${this.frames.map((f) => f.method?.kind ?? f.type).join(',')}`);
      if (Date.now() > until) throw new Error(`timeout waiting for ${kind}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, until - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(ms = 5000): Promise<void> {
    const until = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > until) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Header, start-ok (PLAIN guest/guest), tune-ok, open: leaves the connection ready on `vhost`. */
  async handshake(opts: { frameMax?: number; heartbeat?: number; channelMax?: number; vhost?: string } = {}): Promise<void> {
    this.write(PROTOCOL_HEADER);
    await this.expect('connection.start');
    this.send(0, { kind: 'connection.start-ok', clientProperties: clientProps(), mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' });
    const tune = await this.expect('connection.tune');
    this.send(0, { kind: 'connection.tune-ok', channelMax: opts.channelMax ?? tune.channelMax, frameMax: opts.frameMax ?? tune.frameMax, heartbeat: opts.heartbeat ?? 0 });
    this.send(0, { kind: 'connection.open', virtualHost: opts.vhost ?? '/', capabilities: '', insist: false });
    await this.expect('connection.open-ok');
  }

  async openChannel(ch: number): Promise<void> {
    this.send(ch, { kind: 'channel.open', outOfBand: '' });
    await this.expect('channel.open-ok');
  }

  close(): void {
    this.socket.destroy();
  }
}

export function clientProps(): FieldTable {
  return new Map([['product', { type: 'S', value: Buffer.from('railyard-raw-test') }]]);
}
