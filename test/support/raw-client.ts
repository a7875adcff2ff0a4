// A scripted AMQP peer over a raw socket, built on Warren's codec: it sends exactly the bytes a test
// wants and records every frame and the moment the server closes, so tests can check RabbitMQ's
// behaviour on inputs no real client would send.
import { connect, type Socket } from 'node:net';
import { Writer } from '../../src/protocol/codec.js';
import { toFieldTable, type FieldTable } from '../../src/protocol/field-table.js';
import { FrameParser, decodeMethod, encodeMethodFrame, type FrameSink } from '../../src/protocol/frames.js';
import {
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  FRAME_END,
  FRAME_METHOD,
  METHODS,
  type Method,
  type MethodArgs,
} from '../../src/protocol/generated/spec.js';

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
  /** Decoded when it is a method frame. */
  method?: Method;
}

export interface HandshakeOptions {
  user?: string;
  password?: string;
  mechanism?: string;
  capabilities?: { [key: string]: boolean } | null;
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
  vhost?: string;
}

export class RawClient implements FrameSink {
  readonly frames: Frame[] = [];
  /** Protocol header bytes the server sent instead of frames, if any. */
  headerReply: Buffer | undefined;
  closedAt: number | undefined;
  /** Whether the server reset the connection (RST) rather than closing it. */
  reset = false;
  readonly openedAt = Date.now();
  private readonly parser = new FrameParser(this, 1 << 30);
  private waiters: (() => void)[] = [];
  private expectHeader = true;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') this.reset = true;
    });
    // the server closing its side (FIN) counts as closed, as does a reset
    const closed = () => {
      this.closedAt ??= Date.now();
      this.wake();
    };
    socket.on('end', closed);
    socket.on('close', closed);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, allowHalfOpen: true }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** A client that has completed the handshake (and opened `channels`, if any). */
  static async open(port: number, host = '127.0.0.1', options: HandshakeOptions = {}, channels: number[] = []): Promise<RawClient> {
    const c = await RawClient.connect(port, host);
    await c.handshake(options);
    for (const ch of channels) {
      c.method(ch, CHANNEL_OPEN, {});
      await c.expectMethod(CHANNEL_OPEN_OK, ch);
    }
    return c;
  }

  private onData(chunk: Buffer): void {
    if (this.expectHeader) {
      this.expectHeader = false;
      if (chunk.subarray(0, 4).toString('latin1') === 'AMQP') {
        this.headerReply = chunk.subarray(0, 8);
        chunk = chunk.subarray(8);
      }
    }
    if (chunk.length) this.parser.push(chunk);
    this.wake();
  }

  onFrame(type: number, channel: number, payload: Buffer): void {
    const frame: Frame = { type, channel, payload: Buffer.from(payload) };
    if (type === FRAME_METHOD) frame.method = decodeMethod(frame.payload);
    this.frames.push(frame);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  write(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  method<K extends Method['id']>(channel: number, id: K, args: Partial<MethodArgs<K>>): void {
    this.write(encodeMethodFrame(channel, id, args));
  }

  /** A frame with any type, channel and payload; `end` replaces the frame-end octet. */
  rawFrame(type: number, channel: number, payload: Buffer, end = FRAME_END, size = payload.length): void {
    const w = new Writer(payload.length + 8);
    w.octet(type);
    w.short(channel);
    w.long(size);
    w.bytes(payload);
    w.octet(end);
    this.write(Buffer.concat(w.drain()));
  }

  /** Waits until `predicate` holds, the socket closes, or the time runs out. */
  async until(predicate: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.closedAt !== undefined) return predicate();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** The next frame not yet taken (in arrival order). */
  private taken = 0;
  async nextFrame(timeoutMs = 5000): Promise<Frame | undefined> {
    await this.until(() => this.frames.length > this.taken, timeoutMs);
    return this.frames.length > this.taken ? this.frames[this.taken++] : undefined;
  }

  /** The next method frame (skipping heartbeats); throws if it is not `id` on `channel`. */
  async expectMethod<K extends Method['id']>(id: K, channel = 0, timeoutMs = 5000): Promise<MethodArgs<K>> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (!f) throw new Error(`expected ${METHODS.get(id)?.name}, got ${this.closedAt ? 'a closed socket' : 'nothing'}`);
      if (f.type === 8) continue;
      if (f.method?.id !== id || f.channel !== channel) {
        throw new Error(
          `expected ${METHODS.get(id)?.name} on channel ${channel}, got ${f.method ? METHODS.get(f.method.id)?.name : `frame type ${f.type}`} on channel ${f.channel}: ${JSON.stringify(f.method?.args)}`,
        );
      }
      return f.method.args as MethodArgs<K>;
    }
  }

  async handshake(options: HandshakeOptions = {}): Promise<MethodArgs<typeof CONNECTION_TUNE>> {
    this.write(PROTOCOL_HEADER);
    await this.expectMethod(CONNECTION_START);
    this.startOk(options);
    const tune = await this.expectMethod(CONNECTION_TUNE);
    this.method(0, CONNECTION_TUNE_OK, {
      channelMax: options.channelMax ?? tune.channelMax,
      frameMax: options.frameMax ?? tune.frameMax,
      heartbeat: options.heartbeat ?? 0,
    });
    this.method(0, CONNECTION_OPEN, { virtualHost: options.vhost ?? '/' });
    await this.expectMethod(CONNECTION_OPEN_OK);
    return tune;
  }

  startOk(options: HandshakeOptions = {}): void {
    const caps = options.capabilities === undefined ? { authentication_failure_close: true } : options.capabilities;
    const props: FieldTable = toFieldTable({ product: 'warren-test', ...(caps ? { capabilities: caps } : {}) });
    const user = options.user ?? 'guest';
    const password = options.password ?? 'guest';
    const mechanism = options.mechanism ?? 'PLAIN';
    this.method(0, CONNECTION_START_OK, {
      clientProperties: props,
      mechanism,
      response: mechanism === 'AMQPLAIN' ? amqplainResponse(user, password) : Buffer.from(`\0${user}\0${password}`),
      locale: 'en_US',
    });
  }

  /** Resolves once the server has closed the socket; the time it took from `since`. */
  async closed(timeoutMs = 5000, since = Date.now()): Promise<number | undefined> {
    await this.until(() => this.closedAt !== undefined, timeoutMs);
    return this.closedAt === undefined ? undefined : this.closedAt - since;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** AMQPLAIN's response: LOGIN and PASSWORD as field-table entries without the table's length prefix. */
function amqplainResponse(user: string, password: string): Buffer {
  const w = new Writer();
  w.shortstr('LOGIN');
  w.fieldValue({ type: 'S', value: user });
  w.shortstr('PASSWORD');
  w.fieldValue({ type: 'S', value: password });
  return Buffer.concat(w.drain());
}
