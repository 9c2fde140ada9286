import type net from 'node:net';
import { readByEvents, type PooledReads, type PooledSocket, type ReadSink } from '../../net/pooled-reads.js';
import { FrameParser, HEARTBEAT_FRAME, FRAME_OVERHEAD, type Frame, type FrameSink } from './frames.js';
import { AmqpError } from './errors.js';
import {
  ACCESS_REFUSED,
  CHANNEL_ERROR,
  COMMAND_INVALID,
  FRAME_BODY,
  FRAME_END,
  FRAME_ERROR,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  INTERNAL_ERROR,
  NOT_ALLOWED,
  NOT_IMPLEMENTED,
  SYNTAX_ERROR,
  UNEXPECTED_FRAME,
  CONNECTION_FORCED,
} from './generated/constants.js';
import { KNOWN_CLASSES, METHOD_IDS, decodeMethodArgs, encodeMethod, type Method } from './generated/methods.js';
import { Reader, WireSyntaxError, str, type FieldTable, type FieldValue } from './wire.js';
import { OutputWriter, type Flushable } from './output.js';
import { keepShape } from './shapes.js';
import { MECHANISMS, parseCredentials, verifyPassword } from './auth.js';
import { Channel, publishBitsAt } from './channel.js';
import type { AmqpServer, AlarmListener } from './server.js';
import type { VirtualHost } from './vhost.js';

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
const BASIC_PUBLISH = METHOD_IDS['basic.publish'];
/** Room made before encoding a method (most take a few dozen bytes). */
const METHOD_ROOM = 1024;
const BASIC_ACK = METHOD_IDS['basic.ack'];

type State = 'header' | 'start-ok' | 'tune-ok' | 'open' | 'opened' | 'closing' | 'closed';

const bool = (value: boolean): FieldValue => ({ type: 't', value });

function serverProperties(): FieldTable {
  const caps: FieldTable = new Map<string, FieldValue>([
    ['publisher_confirms', bool(true)],
    ['exchange_exchange_bindings', bool(true)],
    ['basic.nack', bool(true)],
    ['consumer_cancel_notify', bool(true)],
    ['connection.blocked', bool(true)],
    ['consumer_priorities', bool(true)],
    ['authentication_failure_close', bool(true)],
    ['per_consumer_qos', bool(true)],
    ['direct_reply_to', bool(true)],
  ]);
  return new Map<string, FieldValue>([
    ['capabilities', { type: 'F', value: caps }],
    ['cluster_name', str('railyard')],
    ['copyright', str('Railyard contributors')],
    ['information', str('Railyard: Kafka and AMQP 0-9-1 in one process')],
    ['platform', str(`Node.js ${process.version}`)],
    ['product', str('Railyard')],
    ['version', str('0.1.0')],
  ]);
}

/** Writes a frame header at `p`; returns where the payload starts. */
function frameStart(b: Buffer, p: number, type: number, channel: number, size: number): number {
  b[p] = type;
  b[p + 1] = channel >>> 8;
  b[p + 2] = channel & 0xff;
  return putU32(b, p + 3, size);
}

/** Big-endian, with plain stores (cheaper than Buffer's checked writers on the delivery path). */
function putU32(b: Buffer, p: number, v: number): number {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
  return p + 4;
}

/** A non-negative integer below 2^53 as a 64-bit big-endian number. */
function putU64(b: Buffer, p: number, v: number): number {
  return putU32(b, putU32(b, p, Math.floor(v / 0x1_0000_0000)), v >>> 0);
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** One client connection: handshake, framing, heartbeats, channel multiplexing, output batching. */
export class Connection implements AlarmListener, FrameSink, ReadSink, Flushable {
  private state: State = 'header';
  private readonly parser = new FrameParser(FRAME_MIN_SIZE);
  private readonly channels = new Map<number, Channel>();
  private headerBuf: Buffer | null = null;
  private readonly out = new OutputWriter();
  private flushScheduled = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  /**
   * Heartbeat bookkeeping as flags the heartbeat timer reads and clears, not a Date.now() per read
   * and per flush (a runtime call each, ~2% of the broker's CPU per message at 5k msg/s).
   */
  private recvSinceTick = false;
  private sentSinceTick = false;
  /** Heartbeat ticks in a row (every heartbeat/2) with nothing received. */
  private silentTicks = 0;
  /** Socket accepted our last write without queueing; deliveries pause while false. */
  writable = true;
  frameMax = FRAME_MIN_SIZE;
  channelMax = 0;
  heartbeat = 0;
  user = '';
  vhost: VirtualHost | undefined;
  clientProperties: FieldTable = new Map();
  /** Channels with publisher confirms to send at the end of this read. */
  readonly confirmDirty = new Set<Channel>();
  private confirmScheduled = false;
  private paused = false;
  /** Blocked by a resource alarm after trying to publish. */
  private alarmBlocked = false;
  private readonly backlog: Frame[] = [];
  /** Decodes every method and content header of this connection, one at a time. */
  readonly reader = new Reader(Buffer.alloc(0));
  private readonly flushNow = (): void => this.flush();

  /** The socket to write to; reads arrive through `received`. */
  readonly socket: net.Socket;
  private readonly reading: PooledSocket;

  /**
   * With `reads`, the accepted socket (from a server listening with `pauseOnConnect`) is adopted
   * and read into a buffer shared by all connections instead of a fresh one per read; use `socket`
   * afterwards, not `accepted`.
   */
  constructor(
    accepted: net.Socket,
    readonly server: AmqpServer,
    private readonly onClosed: (c: Connection) => void,
    reads?: PooledReads,
  ) {
    keepShape(this);
    this.reading = reads ? reads.adopt(accepted, this) : readByEvents(accepted, this);
    const socket = (this.socket = this.reading.socket);
    // The listener asks for it; said again for the adopted socket, as a small delivery must not wait for an ACK.
    socket.setNoDelay(true);
    socket.on('drain', () => this.onDrain());
    this.out.onWritable = () => this.onDrain();
    socket.on('error', () => this.teardown());
    socket.on('close', () => this.teardown());
  }

  /** ReadSink: `bytes` may be overwritten once this returns; everything kept from them is copied. */
  received(bytes: Buffer): void {
    this.receivedRange(bytes, bytes.length);
  }

  /** ReadSink: the bytes read are `buf[0, length)`, with the same lifetime as in `received`. */
  receivedRange(buf: Buffer, length: number): void {
    const turn = this.server.readTurn;
    turn.begin();
    try {
      this.onData(buf, length);
    } finally {
      turn.end();
    }
  }

  get cancelNotify(): boolean {
    return this.clientCapability('consumer_cancel_notify');
  }

  private onData(chunk: Buffer, length: number): void {
    this.recvSinceTick = true;
    if (this.state === 'closed') return;
    if (this.state === 'header') {
      chunk = this.readProtocolHeader(chunk.subarray(0, length));
      length = chunk.length;
      if (this.state === 'header' || this.state === 'closed' || length === 0) return;
    }
    try {
      this.parser.push(chunk, this, length);
    } catch (err) {
      this.fail(err);
    }
    this.flushConfirms();
  }

  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    // The range is only valid during this call; a held frame keeps a copy.
    if (this.paused) this.backlog.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) });
    else this.handleFrame(type, channel, buf, start, end);
  }

  /** Holds later frames (and reading) until an asynchronous method finished, keeping methods in order. */
  private pauseUntil(p: Promise<void>): void {
    this.paused = true;
    this.reading.pause();
    p.then(
      () => this.unpause(),
      (err: unknown) => {
        this.paused = false;
        this.backlog.length = 0;
        this.fail(err);
      },
    );
  }

  private unpause(): void {
    this.paused = false;
    try {
      while (!this.paused && this.backlog.length > 0 && this.state !== 'closed') {
        const f = this.backlog.shift()!;
        this.handleFrame(f.type, f.channel, f.payload, 0, f.payload.length);
      }
    } catch (err) {
      this.backlog.length = 0;
      this.fail(err);
    }
    if (!this.paused && !this.alarmBlocked && this.state !== 'closed') this.reading.resume();
    this.flushConfirms();
  }

  /** Stops reading from a publisher while an alarm is on; the current read is finished first. */
  private blockForAlarm(reason: string): void {
    this.alarmBlocked = true;
    this.server.blocked.add(this);
    if (this.clientCapability('connection.blocked')) this.sendMethod(0, { kind: 'connection.blocked', reason });
    this.reading.pause();
  }

  alarmCleared(): void {
    if (!this.alarmBlocked || this.state === 'closed') return;
    this.alarmBlocked = false;
    if (this.clientCapability('connection.blocked')) this.sendMethod(0, { kind: 'connection.unblocked' });
    if (!this.paused) this.reading.resume();
  }

  private clientCapability(name: string): boolean {
    const caps = this.clientProperties.get('capabilities');
    if (!caps || caps.type !== 'F') return false;
    const v = caps.value.get(name);
    return v?.type === 't' && v.value;
  }

  /** A confirm became possible outside a read (a durable write finished). */
  confirmLater(ch: Channel): void {
    this.confirmDirty.add(ch);
    if (this.confirmScheduled) return;
    this.confirmScheduled = true;
    setImmediate(() => {
      this.confirmScheduled = false;
      this.flushConfirms();
    });
  }

  private readProtocolHeader(chunk: Buffer): Buffer {
    const buf = this.headerBuf ? Buffer.concat([this.headerBuf, chunk]) : chunk;
    if (buf.length < 8) {
      // Answer early when what has arrived already cannot be our header.
      if (!PROTOCOL_HEADER.subarray(0, buf.length).equals(buf)) return this.refuseHeader();
      // A copy: the read buffer is reused.
      this.headerBuf = Buffer.from(buf);
      return Buffer.alloc(0);
    }
    this.headerBuf = null;
    if (!buf.subarray(0, 8).equals(PROTOCOL_HEADER)) return this.refuseHeader();
    this.state = 'start-ok';
    this.sendMethod(0, {
      kind: 'connection.start',
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(),
      mechanisms: Buffer.from(MECHANISMS.join(' ')),
      locales: Buffer.from('en_US'),
    });
    return buf.subarray(8);
  }

  private refuseHeader(): Buffer {
    this.state = 'closed';
    this.socket.end(PROTOCOL_HEADER);
    return Buffer.alloc(0);
  }

  private handleFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (this.state === 'closed') return;
    if (type === FRAME_HEARTBEAT) {
      if (channel !== 0) throw new AmqpError(FRAME_ERROR, `heartbeat frame on channel ${channel}`);
      return;
    }
    if (channel === 0) {
      if (type !== FRAME_METHOD) throw new AmqpError(UNEXPECTED_FRAME, `content frame on channel 0`);
      this.onConnectionMethod(this.decode(buf, start, end));
      return;
    }
    if (this.state !== 'opened' && this.state !== 'closing') {
      throw new AmqpError(CHANNEL_ERROR, `expected 'connection.open' before channel ${channel} frames`);
    }
    let ch = this.channels.get(channel);
    if (type === FRAME_METHOD) {
      // basic.publish and basic.ack come once per message: they skip the method object. Truncated
      // arguments take the generic decoder, which reports them.
      const id = end - start >= 4 ? buf.readUInt32BE(start) : -1;
      if (ch && this.state === 'opened') {
        const bitsAt = id === BASIC_PUBLISH ? publishBitsAt(buf, start + 4, end) : -1;
        if (bitsAt >= 0) {
          this.alarmCheck();
          ch.onPublish(buf, start + 4, bitsAt);
          return;
        }
        // delivery-tag (longlong) and the multiple bit
        if (id === BASIC_ACK && end - start >= 13) {
          ch.onAck(buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8), (buf[start + 12]! & 1) !== 0);
          return;
        }
      }
      const m = this.decode(buf, start, end);
      if (this.state === 'closing') return;
      if (!ch) {
        if (m.kind !== 'channel.open') throw new AmqpError(CHANNEL_ERROR, `expected 'channel.open' on channel ${channel}`, 20, 10);
        if (this.channelMax !== 0 && channel > this.channelMax) {
          throw new AmqpError(NOT_ALLOWED, `channel ${channel} above channel_max ${this.channelMax}`, 20, 10);
        }
        ch = new Channel(channel, this);
        this.channels.set(channel, ch);
        this.sendMethod(channel, { kind: 'channel.open-ok', channelId: Buffer.alloc(0) });
        return;
      }
      const wait = ch.onMethod(m);
      if (wait) this.pauseUntil(wait);
      return;
    }
    if (this.state === 'closing') return;
    if (!ch) throw new AmqpError(CHANNEL_ERROR, `frame on channel ${channel}, which is not open`);
    if (type === FRAME_HEADER) ch.onContentHeader(buf, start, end);
    else if (type === FRAME_BODY) ch.onContentBody(buf, start, end);
  }

  /** A publisher is blocked (and stops being read) once it publishes while an alarm is on. */
  private alarmCheck(): void {
    if (this.server.alarms.reason !== null && !this.alarmBlocked) this.blockForAlarm(this.server.alarms.reason);
  }

  private decode(buf: Buffer, start: number, end: number): Method {
    const r = this.reader.reset(buf, start, end);
    try {
      const classId = r.u16();
      const methodId = r.u16();
      const m = decodeMethodArgs((classId << 16) | methodId, r);
      if (!m) {
        if (!KNOWN_CLASSES.has(classId)) throw new AmqpError(NOT_IMPLEMENTED, `unknown class ${classId}`, classId, methodId);
        throw new AmqpError(COMMAND_INVALID, `unknown method ${methodId} of class ${classId}`, classId, methodId);
      }
      return m;
    } catch (err) {
      if (err instanceof WireSyntaxError) throw new AmqpError(SYNTAX_ERROR, err.message);
      throw err;
    }
  }

  private onConnectionMethod(m: Method): void {
    if (this.state === 'closing') {
      if (m.kind === 'connection.close-ok') this.destroy();
      else if (m.kind === 'connection.close') this.sendMethod(0, { kind: 'connection.close-ok' });
      return;
    }
    switch (m.kind) {
      case 'connection.start-ok':
        if (this.state !== 'start-ok') break;
        this.clientProperties = m.clientProperties;
        this.authenticate(m.mechanism, m.response);
        return;
      case 'connection.tune-ok': {
        if (this.state !== 'tune-ok') break;
        const frameMax = m.frameMax;
        const channelMax = m.channelMax;
        const s = this.server;
        if (frameMax !== 0 && frameMax < FRAME_MIN_SIZE) throw new AmqpError(NOT_ALLOWED, `frame_max=${frameMax} < ${FRAME_MIN_SIZE} min size`, 10, 31);
        if (s.frameMax !== 0 && frameMax > s.frameMax) throw new AmqpError(NOT_ALLOWED, `frame_max=${frameMax} > ${s.frameMax} max size`, 10, 31);
        if (s.channelMax !== 0 && channelMax > s.channelMax) throw new AmqpError(NOT_ALLOWED, `channel_max=${channelMax} > ${s.channelMax} max`, 10, 31);
        this.frameMax = frameMax === 0 ? s.frameMax : frameMax;
        this.parser.frameMax = this.frameMax;
        this.channelMax = channelMax === 0 ? s.channelMax : channelMax;
        this.heartbeat = m.heartbeat;
        this.startHeartbeats();
        this.state = 'open';
        return;
      }
      case 'connection.open': {
        if (this.state !== 'open') break;
        const name = m.virtualHost;
        const vh = this.server.vhosts.get(name);
        if (!vh) throw new AmqpError(NOT_ALLOWED, `vhost ${name} not found`, 10, 40);
        const user = this.server.store.user(this.user);
        if (!user || (user.vhosts !== undefined && !user.vhosts.includes(name))) {
          throw new AmqpError(NOT_ALLOWED, `access to vhost '${name}' refused for user '${this.user}'`, 10, 40);
        }
        this.vhost = vh;
        this.state = 'opened';
        this.sendMethod(0, { kind: 'connection.open-ok', knownHosts: '' });
        return;
      }
      case 'connection.close':
        this.sendMethod(0, { kind: 'connection.close-ok' });
        this.state = 'closing';
        this.releaseChannels();
        this.flush();
        this.socket.end();
        this.teardown();
        return;
      case 'connection.close-ok':
        return;
      case 'connection.blocked':
      case 'connection.unblocked':
        return;
      case 'connection.update-secret':
        this.sendMethod(0, { kind: 'connection.update-secret-ok' });
        return;
      default:
        break;
    }
    throw new AmqpError(COMMAND_INVALID, `unexpected ${m.kind} on channel 0 in state ${this.state}`);
  }

  private authenticate(mechanism: string, response: Buffer): void {
    const creds = parseCredentials(mechanism, response);
    if (!creds) {
      throw new AmqpError(ACCESS_REFUSED, `Login was refused using authentication mechanism ${mechanism}`, 10, 11);
    }
    const user = this.server.store.user(creds.user);
    if (!user || !verifyPassword(creds.password, user.passwordHash)) {
      throw new AmqpError(ACCESS_REFUSED, `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`, 10, 11);
    }
    // RabbitMQ's loopback_users default: guest may only connect from this machine.
    if (creds.user === 'guest' && !isLoopback(this.socket.remoteAddress)) {
      throw new AmqpError(ACCESS_REFUSED, `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`, 10, 11);
    }
    this.user = creds.user;
    this.state = 'tune-ok';
    this.sendMethod(0, { kind: 'connection.tune', channelMax: this.server.channelMax, frameMax: this.server.frameMax, heartbeat: this.server.heartbeat });
  }

  private startHeartbeats(): void {
    if (this.heartbeat <= 0) return;
    const ms = this.heartbeat * 1000;
    this.heartbeatTimer = setInterval(
      () => {
        // While we are not reading (alarm, pending I/O) the peer's heartbeats sit unread in the socket.
        if (this.recvSinceTick || this.alarmBlocked || this.paused) this.silentTicks = 0;
        else this.silentTicks++;
        this.recvSinceTick = false;
        // Four silent ticks: 2 to 2.5 heartbeat intervals without a byte (the peer missed two heartbeats).
        if (this.silentTicks >= 4) {
          this.server.logger.info('missed heartbeats from client, closing connection', { user: this.user });
          this.socket.destroy();
          this.teardown();
          return;
        }
        // Nothing sent for a tick (half an interval): a heartbeat frame, so the peer hears from us.
        if (!this.sentSinceTick) this.write(HEARTBEAT_FRAME);
        this.sentSinceTick = false;
      },
      Math.max(100, ms / 2),
    );
    this.heartbeatTimer.unref();
  }

  /** Hard errors close the connection, soft ones only their channel. */
  fail(err: unknown): void {
    if (this.state === 'closed') return;
    const e = err instanceof AmqpError ? err : new AmqpError(INTERNAL_ERROR, (err as Error)?.message ?? String(err));
    if (!(err instanceof AmqpError)) this.server.logger.error('internal error on AMQP connection', { err });
    if (this.state === 'closing') return;
    if (this.state === 'header') {
      this.destroy();
      return;
    }
    this.sendMethod(0, { kind: 'connection.close', replyCode: e.code, replyText: e.replyText, classId: e.classId, methodId: e.methodId });
    this.state = 'closing';
    this.releaseChannels();
    this.flush();
    this.closeTimer = setTimeout(() => this.destroy(), 2000);
    this.closeTimer.unref();
  }

  /** Open channels, for the management API. */
  openChannels(): IterableIterator<Channel> {
    return this.channels.values();
  }

  /** Closes with 320 CONNECTION_FORCED and the given reason, as RabbitMQ's management does. */
  forceCloseWithReason(reason: string): void {
    if (this.state === 'opened' || this.state === 'open' || this.state === 'tune-ok') this.fail(new AmqpError(CONNECTION_FORCED, reason));
    else this.destroy();
  }

  /** Server-initiated close (shutdown). */
  forceClose(): void {
    this.forceCloseWithReason("broker forced connection closure with reason 'shutdown'");
  }

  channelClosed(id: number): void {
    this.channels.delete(id);
  }

  sendMethod(channel: number, m: Method): void {
    this.writeMethod(channel, m);
    this.afterWrite();
  }

  /** A content-bearing method (deliver, get-ok, return) with its header and body frames. */
  sendContent(channel: number, m: Method, rawProps: Buffer, body: Buffer): void {
    this.writeMethod(channel, m);
    this.writeContent(channel, rawProps, body);
    this.afterWrite();
  }

  /**
   * basic.deliver on the hot path: consumer tag and exchange/routing key arrive pre-encoded as
   * short strings, so a delivery costs a few copies rather than a generic encode.
   */
  sendDeliver(channel: number, consumerTag: Buffer, deliveryTag: number, redelivered: boolean, names: Buffer, rawProps: Buffer, body: Buffer): void {
    const size = 4 + consumerTag.length + 8 + 1 + names.length;
    const w = this.out;
    // The three frames are written in one go with plain stores: the generic writer's per-field
    // checks and calls were a visible share of the broker's CPU per delivery.
    const total = FRAME_OVERHEAD + size + this.contentSize(rawProps, body);
    this.room(total);
    w.ensure(total);
    const b = w.buf;
    let p = frameStart(b, w.pos, FRAME_METHOD, channel, size);
    b[p] = 0;
    b[p + 1] = 60;
    b[p + 2] = 0;
    b[p + 3] = 60;
    p += consumerTag.copy(b, p + 4) + 4;
    p = putU64(b, p, deliveryTag);
    b[p++] = redelivered ? 1 : 0;
    p += names.copy(b, p);
    b[p++] = FRAME_END;
    w.pos = p;
    this.writeContent(channel, rawProps, body);
    this.afterWrite();
  }

  /** Bytes the header and body frames of a message take. */
  private contentSize(rawProps: Buffer, body: Buffer): number {
    const maxBody = this.frameMax - FRAME_OVERHEAD;
    const bodyFrames = Math.ceil(body.length / maxBody);
    return FRAME_OVERHEAD + 12 + rawProps.length + bodyFrames * FRAME_OVERHEAD + body.length;
  }

  private writeContent(channel: number, rawProps: Buffer, body: Buffer): void {
    const w = this.out;
    w.ensure(this.contentSize(rawProps, body));
    const b = w.buf;
    let p = frameStart(b, w.pos, FRAME_HEADER, channel, 12 + rawProps.length);
    b[p] = 0;
    b[p + 1] = 60;
    b[p + 2] = 0;
    b[p + 3] = 0;
    p = putU64(b, p + 4, body.length);
    p += rawProps.copy(b, p);
    b[p++] = FRAME_END;
    const maxBody = this.frameMax - FRAME_OVERHEAD;
    for (let off = 0; off < body.length; off += maxBody) {
      const end = Math.min(body.length, off + maxBody);
      p = frameStart(b, p, FRAME_BODY, channel, end - off);
      p += body.copy(b, p, off, end);
      b[p++] = FRAME_END;
    }
    w.pos = p;
  }

  private writeMethod(channel: number, m: Method): void {
    const w = this.out;
    // Methods are small; a rare larger one makes the writer carry the unflushed bytes to a new slab.
    this.room(METHOD_ROOM);
    w.ensure(7);
    // The header is filled in once the size is known. Counted from the unflushed bytes, as the
    // writer may move them to another slab while encoding.
    const at = w.pending;
    w.pos += 7;
    encodeMethod(w, m);
    const start = w.pos - w.pending + at;
    frameStart(w.buf, start, FRAME_METHOD, channel, w.pos - start - 7);
    w.u8(FRAME_END);
  }

  /** Flushes first when `n` bytes do not fit in the current slab, so they need not be carried over. */
  private room(n: number): void {
    if (!this.out.fits(n) && this.out.pending > 0) this.flush();
  }

  private afterWrite(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const turn = this.server.readTurn;
    if (turn.open) turn.defer(this);
    else queueMicrotask(this.flushNow);
  }

  flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (out.pending === 0) return;
    if (this.state === 'closed' || this.socket.destroyed) {
      out.discard();
      return;
    }
    this.sentSinceTick = true;
    if (!out.flushTo(this.socket)) this.writable = false;
  }

  private write(b: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.sentSinceTick = true;
    if (!this.socket.write(b)) this.writable = false;
  }

  private onDrain(): void {
    this.writable = true;
    for (const ch of this.channels.values()) ch.resume();
  }

  private flushConfirms(): void {
    if (this.confirmDirty.size === 0) return;
    for (const ch of this.confirmDirty) ch.sendConfirms();
    this.confirmDirty.clear();
  }

  private releaseChannels(): void {
    for (const ch of [...this.channels.values()]) ch.release();
    this.channels.clear();
  }

  private destroy(): void {
    this.flush();
    this.socket.destroy();
    this.teardown();
  }

  /** Runs once when the socket is gone: frees channels, exclusive queues and timers. */
  private teardown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.closeTimer);
    this.server.blocked.delete(this);
    this.releaseChannels();
    const vh = this.vhost;
    if (vh) {
      for (const q of [...vh.queues.values()]) if (q.owner === this) vh.deleteQueue(q.name);
    }
    this.onClosed(this);
  }
}

