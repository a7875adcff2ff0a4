// One AMQP connection: the protocol header, the handshake (start, tune, open), heartbeats, the
// channels, and closing, all as RabbitMQ does them.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from '../broker/logger.js';
import type { Broker } from '../broker/broker.js';
import type { Alarm } from '../broker/alarms.js';
import type { ClientChannel, ClientConnection } from '../broker/clients.js';
import type { Clock, Timer } from '../broker/clock.js';
import { MessageCounters, announce, observed } from '../broker/observation.js';
import type { VirtualHost } from '../broker/virtual-host.js';
import type { FlowListener, Queue } from '../broker/queue.js';
import { certificateLoginName } from '../auth/certificate.js';
import { isMechanism, parseResponse } from '../auth/sasl.js';
import type { User } from '../auth/users.js';
import { Writer } from '../protocol/codec.js';
import type { FieldTable } from '../protocol/field-table.js';
import { CONTENT_HEADER_MIN_SIZE, FRAME_OVERHEAD, FrameError, FrameParser, methodKey, heartbeatFrame, writeMethod, type FrameSink } from '../protocol/frames.js';
import {
  CHANNEL_OPEN,
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  CONNECTION_UNBLOCKED,
  CONNECTION_UPDATE_SECRET,
  CONNECTION_UPDATE_SECRET_OK,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  PROTOCOL_VERSION,
  ReplyCode,
  type Method,
  type MethodArgs,
} from '../protocol/generated/spec.js';
import { Channel } from './channel.js';
import type { ConfirmWriter, ConnectionPort } from './channel-context.js';
import type { ServerConfig } from './config.js';
import { frameErrorDetail } from '../protocol/erlang-format.js';
import {
  AmqpError,
  ReaderCrash,
  amqpError,
  channelFrameError,
  decodeMethodStrict,
  frameError,
  methodName,
  unexpectedNonMethod,
  wireReplyText,
} from './errors.js';

export interface ConnectionContext {
  readonly broker: Broker;
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly serverProperties: FieldTable;
  connectionClosed(connection: Connection): void;
}

const enum State {
  /** Waiting for the 8-byte protocol header. */
  Header,
  /** connection.start sent, waiting for start-ok. */
  Start,
  /** connection.tune sent, waiting for tune-ok. */
  Tune,
  /** Tuned, waiting for connection.open. */
  Open,
  Running,
  /** We sent connection.close and wait for close-ok; everything else is dropped. */
  Closing,
  Closed,
}

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, PROTOCOL_VERSION.major, PROTOCOL_VERSION.minor, PROTOCOL_VERSION.revision]);
/** RabbitMQ waits this long for close-ok after sending connection.close (and for the client to hang up after its own). */
const CLOSING_TIMEOUT_MS = 30000;
/** After a failed handshake or an unreadable frame RabbitMQ holds the socket this long, then resets it. */
const SILENT_CLOSE_DELAY_MS = 3000;
const EMPTY = Buffer.alloc(0);
/** Output bytes (buffered and in the socket) above which deliveries wait for 'drain'. */
const OUTPUT_HIGH_WATER = 1 << 20;
const HEARTBEAT_FRAME = heartbeatFrame();

let nextConnectionId = 1;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped addresses: where loopback_users may connect from. */
function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

export class Connection implements FrameSink, FlowListener, ConnectionPort, ClientConnection {
  readonly id = nextConnectionId++;
  readonly out = new Writer();
  /** Its lines carry the connection (and, once open, its user, vhost and client-provided name). */
  logger: Logger;
  readonly broker: Broker;
  /** Why the connection is ending, for the line that says it ended; undefined while nobody has said. */
  private endReason: string | undefined;
  private readonly clock: Clock;
  /** Message counters of the channels that have closed (open channels keep their own). */
  private readonly closedChannels = new MessageCounters();
  /** Octets received and sent on the socket (RabbitMQ's recv_oct and send_oct), and the reads and writes. */
  bytesIn = 0;
  bytesOut = 0;
  reads = 0;
  writes = 0;
  /** RabbitMQ's name for the connection: "peer -> local address". */
  readonly name: string;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly host: string;
  readonly port: number;
  authMechanism = '';
  connectedAt = 0;
  private phase = State.Header;
  private header: Buffer | null = null;
  private readonly parser: FrameParser;
  private flushScheduled = false;
  private readonly flushNow = () => this.flush();
  private readonly pendingConfirms: ConfirmWriter[] = [];
  private outputBlocked = false;

  channelMax = 0;
  frameMax = FRAME_MIN_SIZE;
  heartbeat = 0;
  private authenticated: User | undefined;
  private virtualHost: VirtualHost | undefined;
  clientProperties: FieldTable = Object.create(null);
  private readonly channels = new Map<number, Channel>();
  /** Overloaded queues this connection published to: it reads nothing more until they drain. */
  private readonly waitingFor = new Set<Queue>();
  /** Blocked by a resource alarm after publishing. */
  private blocked = false;

  private handshakeTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private closeTimer: Timer | undefined;
  /** Channels, consumers and exclusive queues have been given back (once, whichever way the connection ends). */
  private released = false;
  private receivedSinceBeat = false;
  private sentSinceBeat = false;
  private heartbeatTicks = 0;
  private silentChecks = 0;
  private blackholed = false;

  constructor(
    readonly ctx: ConnectionContext,
    readonly socket: Socket,
    /** Set for an amqps connection: whether its listener verifies client certificates. */
    private readonly tls?: { readonly verify: boolean },
  ) {
    this.peerHost = socket.remoteAddress ?? '';
    this.peerPort = socket.remotePort ?? 0;
    this.host = socket.localAddress ?? '';
    this.port = socket.localPort ?? 0;
    this.name = `${this.peerHost}:${this.peerPort} -> ${this.host}:${this.port}`;
    this.logger = ctx.logger.child({ connection: this.id, peer: `${this.peerHost}:${this.peerPort}` });
    this.broker = ctx.broker;
    this.clock = ctx.broker.clock;
    this.parser = new FrameParser(this, FRAME_MIN_SIZE);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.logger.debug({ err }, 'socket error');
      this.endReason ??= `socket error ${err.code ?? err.message}`;
    });
    socket.on('close', () => this.onSocketClosed());
    socket.on('drain', () => this.onDrain());
    this.handshakeTimer = this.clock.after(ctx.config.handshakeTimeoutMs, () => this.onHandshakeTimeout());
    this.logger.info('accepting AMQP connection');
    announce('connection', this.broker, 'created', '', this);
  }

  get ssl(): boolean {
    return this.socket instanceof TLSSocket;
  }

  get maxMessageSize(): number {
    return this.ctx.config.maxMessageSize;
  }

  /** The message counters of all the connection's channels, open and closed. */
  get counters(): MessageCounters {
    const total = new MessageCounters();
    total.add(this.closedChannels);
    for (const channel of this.channels.values()) total.add(channel.session.counters);
    return total;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  // ---- as observers see it ----

  get user(): string {
    return this.authenticated?.name ?? '';
  }

  get vhost(): string {
    return this.virtualHost?.name ?? '';
  }

  get clientChannels(): Iterable<ClientChannel> {
    return this.channels.values();
  }

  get sendPending(): number {
    return this.out.pendingBytes + this.socket.writableLength;
  }

  get state(): 'running' | 'blocked' | 'flow' {
    return this.blocked ? 'blocked' : this.waitingFor.size > 0 ? 'flow' : 'running';
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.blackholed) return;
    this.receivedSinceBeat = true;
    this.reads++;
    this.bytesIn += chunk.length;
    if (this.phase === State.Header) {
      chunk = this.readProtocolHeader(chunk);
      if (chunk.length === 0) return;
    }
    try {
      this.parser.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) this.onFrameError(err);
      else this.onInternalError(err);
    }
  }

  /** Consumes the protocol header; returns the bytes after it. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const have = this.header ? Buffer.concat([this.header, chunk]) : chunk;
    if (have.length < PROTOCOL_HEADER.length) {
      this.header = have;
      return EMPTY;
    }
    this.header = null;
    if (!have.subarray(0, PROTOCOL_HEADER.length).equals(PROTOCOL_HEADER)) {
      // RabbitMQ answers any other header with the one it speaks and hangs up
      this.logger.info('unsupported protocol header');
      this.enterClosed();
      this.socket.end(PROTOCOL_HEADER);
      return EMPTY;
    }
    this.phase = State.Start;
    this.send(0, CONNECTION_START, {
      versionMajor: PROTOCOL_VERSION.major,
      versionMinor: PROTOCOL_VERSION.minor,
      serverProperties: this.ctx.serverProperties,
      mechanisms: Buffer.from(this.ctx.config.authMechanisms.join(' ')),
      locales: Buffer.from('en_US'),
    });
    return have.subarray(PROTOCOL_HEADER.length);
  }

  onFrame(type: number, channel: number, payload: Buffer): void {
    if (observed.frame.hasSubscribers) observed.frame.publish({ broker: this.broker, connection: this.id, channel, direction: 'in', type, payload });
    if (this.phase >= State.Closing) return this.onFrameWhileClosing(type, channel, payload);
    try {
      if (this.phase !== State.Running) return this.onHandshakeFrame(type, channel, payload);
      // the reader refuses a header too short to read before any channel, 0 included, sees it
      if (type === FRAME_HEADER && payload.length < CONTENT_HEADER_MIN_SIZE) throw frameError(type, payload, 'unknown_frame');
      if (channel === 0) this.onConnectionFrame(type, payload);
      else this.onChannelFrame(type, channel, payload);
    } catch (err) {
      if (err instanceof AmqpError) this.onError(err, channel);
      else if (err instanceof ReaderCrash) this.onReaderCrash(err);
      else this.onInternalError(err);
    }
  }

  /** Once closing, only connection.close-ok (or a crossing connection.close) matters. */
  private onFrameWhileClosing(type: number, channel: number, payload: Buffer): void {
    if (this.phase !== State.Closing || channel !== 0 || type !== FRAME_METHOD) return;
    const key = methodKey(payload);
    if (key === CONNECTION_CLOSE_OK) this.destroy();
    else if (key === CONNECTION_CLOSE) this.send(0, CONNECTION_CLOSE_OK, {});
  }

  /** start-ok, tune-ok and open, in that order, and nothing else. */
  private onHandshakeFrame(type: number, channel: number, payload: Buffer): void {
    const expected = this.phase === State.Start ? CONNECTION_START_OK : this.phase === State.Tune ? CONNECTION_TUNE_OK : CONNECTION_OPEN;
    if (channel !== 0 || type !== FRAME_METHOD || methodKey(payload) !== expected) {
      if (type === FRAME_HEARTBEAT && channel === 0 && this.phase === State.Open) return;
      throw amqpError(
        ReplyCode.COMMAND_INVALID,
        `expected '${methodName(expected)}' during the handshake`,
        type === FRAME_METHOD ? methodKey(payload) : 0,
      );
    }
    const method = decodeMethodStrict(payload, true);
    switch (method.id) {
      case CONNECTION_START_OK:
        return this.onStartOk(method.args);
      case CONNECTION_TUNE_OK:
        return this.onTuneOk(method.args);
      case CONNECTION_OPEN:
        return this.onOpen(method.args);
    }
  }

  private onConnectionFrame(type: number, payload: Buffer): void {
    switch (type) {
      case FRAME_HEARTBEAT:
        if (payload.length > 0) throw frameError(type, payload, 'unknown_frame');
        return;
      case FRAME_METHOD:
        break;
      case FRAME_HEADER:
      case FRAME_BODY:
        throw amqpError(ReplyCode.UNEXPECTED_FRAME, frameErrorDetail(type, payload));
      default:
        throw frameError(type, payload, 'unknown_frame');
    }
    const method = decodeMethodStrict(payload, true);
    switch (method.id) {
      case CONNECTION_CLOSE:
        this.endReason ??= 'client closed the connection';
        // RabbitMQ answers and then waits for the client to hang up
        this.send(0, CONNECTION_CLOSE_OK, {});
        this.enterClosed();
        this.closeTimer = this.clock.after(CLOSING_TIMEOUT_MS, () => this.destroy());
        return;
      case CONNECTION_UPDATE_SECRET:
        this.send(0, CONNECTION_UPDATE_SECRET_OK, {});
        return;
      default:
        throw amqpError(ReplyCode.CHANNEL_ERROR, 'unexpected method in connection state running', method.id);
    }
  }

  private onStartOk(args: MethodArgs<typeof CONNECTION_START_OK>): void {
    this.clientProperties = args.clientProperties;
    this.authMechanism = args.mechanism;
    if (!isMechanism(args.mechanism) || !this.ctx.config.authMechanisms.includes(args.mechanism)) {
      throw amqpError(ReplyCode.COMMAND_INVALID, `unknown authentication mechanism '${args.mechanism}'`, CONNECTION_START_OK);
    }
    let user: User | undefined;
    if (args.mechanism === 'EXTERNAL') {
      const name = this.certificateName();
      if (name.refused !== undefined) return this.refuseLogin(args.mechanism, '', name.refused);
      user = this.broker.users.get(name.user);
      if (!user) return this.refuseLogin(args.mechanism, name.user, `user '${name.user}' - invalid credentials`);
    } else {
      const credentials = parseResponse(args.mechanism, args.response);
      if (!credentials) {
        throw amqpError(ReplyCode.ACCESS_REFUSED, `malformed ${args.mechanism} response`, CONNECTION_START_OK);
      }
      user = this.broker.users.authenticate(credentials.username, credentials.password);
      if (!user) return this.refuseLogin(args.mechanism, credentials.username, 'invalid credentials');
    }
    if (this.ctx.config.loopbackUsers.includes(user.name) && !isLoopback(this.peerHost)) {
      return this.refuseLogin(args.mechanism, user.name, `user '${user.name}' can only connect via localhost`);
    }
    this.authenticated = user;
    this.phase = State.Tune;
    const { channelMax, frameMax, heartbeat } = this.ctx.config;
    this.send(0, CONNECTION_TUNE, { channelMax, frameMax, heartbeat });
  }

  /** EXTERNAL's user name, from the client's certificate, or why there is none (rabbit_auth_mechanism_ssl's reasons). */
  private certificateName(): { user: string; refused?: undefined } | { refused: string } {
    if (!(this.socket instanceof TLSSocket)) return { refused: 'not a TLS-enabled connection' };
    if (!this.tls?.verify) return { refused: 'TLS configuration is unsafe' };
    const cert = this.socket.getPeerCertificate(false);
    if (!cert || Object.keys(cert).length === 0) return { refused: 'connection peer presented no TLS (x.509) certificate' };
    const user = certificateLoginName(cert.raw, this.ctx.config.sslCertLoginFrom);
    return user === undefined ? { refused: 'no name found' } : { user };
  }

  /**
   * A refused login: a client with authentication_failure_close gets a 403 connection.close; either way
   * the socket is dropped a few seconds later (sooner if the client answers close-ok).
   */
  private refuseLogin(mechanism: string, username: string, reason: string): void {
    // RabbitMQ logs a refused login as an error on the connection
    this.logger.error({ user: username, mechanism, reason }, 'login refused');
    this.endReason = `login refused: ${reason}`;
    if (!this.hasCapability('authentication_failure_close')) return this.closeSilently();
    this.send(0, CONNECTION_CLOSE, {
      replyCode: ReplyCode.ACCESS_REFUSED,
      replyText: `ACCESS_REFUSED - Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
      classId: 0,
      methodId: 0,
    });
    this.enterClosing(SILENT_CLOSE_DELAY_MS);
  }

  private onTuneOk(args: MethodArgs<typeof CONNECTION_TUNE_OK>): void {
    const { config } = this.ctx;
    // 0 means "no limit", which is more than the server offered
    if (args.frameMax < FRAME_MIN_SIZE || args.frameMax > config.frameMax) {
      throw amqpError(ReplyCode.NOT_ALLOWED, `frame_max=${args.frameMax} outside ${FRAME_MIN_SIZE}..${config.frameMax}`, CONNECTION_TUNE_OK);
    }
    if (args.channelMax === 0 || args.channelMax > config.channelMax) {
      throw amqpError(ReplyCode.NOT_ALLOWED, `channel_max=${args.channelMax} outside 1..${config.channelMax}`, CONNECTION_TUNE_OK);
    }
    this.channelMax = args.channelMax;
    this.frameMax = args.frameMax;
    this.parser.frameMax = args.frameMax;
    this.heartbeat = args.heartbeat;
    this.phase = State.Open;
    this.startHeartbeats();
  }

  private onOpen(args: MethodArgs<typeof CONNECTION_OPEN>): void {
    const vhost = this.broker.vhost(args.virtualHost);
    if (!vhost) {
      throw amqpError(ReplyCode.NOT_ALLOWED, `vhost ${args.virtualHost} not found`, CONNECTION_OPEN);
    }
    // the limit before the permission, as rabbit_reader checks them
    const maxConnections = vhost.limits.get('max-connections');
    if (maxConnections !== undefined && maxConnections >= 0 && [...this.broker.connections].filter((c) => c.vhost === vhost.name).length >= maxConnections) {
      throw amqpError(ReplyCode.NOT_ALLOWED, `access to vhost '${vhost.name}' refused for user '${this.authenticated!.name}': connection limit (${maxConnections}) is reached`, CONNECTION_OPEN);
    }
    if (!this.broker.permissions.hasVhostAccess(this.authenticated!.name, vhost.name)) {
      throw amqpError(ReplyCode.NOT_ALLOWED, `access to vhost '${vhost.name}' refused for user '${this.authenticated!.name}'`, CONNECTION_OPEN);
    }
    this.virtualHost = vhost;
    this.phase = State.Running;
    this.connectedAt = this.clock.now();
    this.broker.connections.add(this);
    this.broker.churn.connectionCreated++;
    this.clock.cancel(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.send(0, CONNECTION_OPEN_OK, { knownHosts: '' });
    const provided = this.clientProperties.connection_name;
    this.logger = this.logger.child({ user: this.authenticated!.name, vhost: vhost.name, ...(provided?.type === 'S' ? { clientName: String(provided.value) } : {}) });
    this.logger.info('connection opened');
  }

  private onChannelFrame(type: number, id: number, payload: Buffer): void {
    if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY) throw channelFrameError(type, payload);
    const channel = this.channels.get(id);
    if (channel) return channel.onFrame(type, payload);
    // the first frame on a new id makes a channel, which must begin with channel.open
    if (this.channels.size >= this.channelMax) {
      throw amqpError(
        ReplyCode.NOT_ALLOWED,
        `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`,
      );
    }
    if (type !== FRAME_METHOD) throw unexpectedNonMethod();
    const method = decodeMethodStrict(payload);
    if (method.id !== CHANNEL_OPEN) throw amqpError(ReplyCode.CHANNEL_ERROR, `expected 'channel.open'`, method.id);
    const vhost = this.virtualHost!;
    const opened = new Channel(this, id, (output) => this.broker.openSession(vhost, this.authenticated!.name, this, output));
    this.channels.set(id, opened);
    this.broker.churn.channelCreated++;
    announce('channel', this.broker, 'created', vhost.name, opened);
    opened.open();
  }

  // ---- output flow control ----

  /**
   * Whether deliveries may be written now. Consumers without prefetch limits (no-ack) would otherwise
   * pour a whole backlog into memory; they wait for the socket to drain instead.
   */
  get writable(): boolean {
    if (this.out.pendingBytes + this.socket.writableLength < OUTPUT_HIGH_WATER) return true;
    this.outputBlocked = true;
    return false;
  }

  /** After a flush or a 'drain': consumers that found the output full may receive again. */
  private onDrain(): void {
    if (!this.outputBlocked || !this.writable) return;
    this.outputBlocked = false;
    for (const channel of this.channels.values()) channel.resumeDeliveries();
  }

  // ---- publisher flow control ----

  /** Stops reading from the socket until `queue` has worked down its backlog. */
  waitFor(queue: Queue): void {
    if (this.waitingFor.has(queue)) return;
    this.waitingFor.add(queue);
    queue.waitForDrain(this);
    this.socket.pause();
  }

  queueDrained(queue: Queue): void {
    this.waitingFor.delete(queue);
    if (this.waitingFor.size === 0 && !this.blocked) this.socket.resume();
  }

  // ---- resource alarms ----

  /**
   * A publish while an alarm is in force blocks the connection, as RabbitMQ does: nothing more is read
   * from it until the alarms clear, and a client that understands it is told with connection.blocked.
   */
  publishing(): void {
    const alarms = this.broker.activeAlarms;
    if (alarms.size === 0 || this.blocked) return;
    this.blocked = true;
    this.socket.pause();
    if (this.hasCapability('connection.blocked')) this.send(0, CONNECTION_BLOCKED, { reason: alarms.has('memory') ? 'low on memory' : 'low on disk' });
  }

  alarmsChanged(active: ReadonlySet<Alarm>): void {
    if (active.size > 0 || !this.blocked) return;
    this.blocked = false;
    if (this.hasCapability('connection.blocked')) this.send(0, CONNECTION_UNBLOCKED, {});
    if (this.waitingFor.size === 0) this.socket.resume();
  }

  /** We stopped reading (flow control, an alarm): the peer's silence is ours, not a dead peer. */
  private get readingPaused(): boolean {
    return this.blocked || this.waitingFor.size > 0 || this.blackholed;
  }


  // ---- faults (the testing toolkit's) ----

  /**
   * The link goes silently dead: what arrives is dropped and nothing is written, heartbeats included,
   * but the TCP connection stays open, so only the client's heartbeat check can notice. It ends when
   * the client gives up and closes its socket (still read, so that its end is seen).
   */
  blackhole(): void {
    this.blackholed = true;
  }

  /** Closing: stop waiting, and read again (a close-ok may be on its way). */
  private stopWaiting(): void {
    if (this.waitingFor.size === 0) return;
    for (const q of this.waitingFor) q.stopWaiting(this);
    this.waitingFor.clear();
    this.socket.resume();
  }

  /** Closes the channels whose oldest unacknowledged delivery is older than the consumer timeout. */
  checkAckTimeouts(now: number): void {
    const timeout = this.ctx.config.consumerTimeoutMs;
    for (const channel of this.channels.values()) channel.checkAckTimeout(now, timeout);
  }

  /** A channel that has finished closing gives its id back. */
  channelClosed(id: number): void {
    const channel = this.channels.get(id);
    if (channel === undefined) return;
    this.channels.delete(id);
    this.broker.churn.channelClosed++;
    this.closedChannels.add(channel.session.counters);
    announce('channel', this.broker, 'deleted', this.virtualHost?.name ?? '', channel);
  }

  hasCapability(name: string): boolean {
    const caps = this.clientProperties.capabilities;
    return caps?.type === 'F' && caps.value[name]?.type === 't' && caps.value[name].value === true;
  }

  // ---- errors and closing ----

  /**
   * Soft errors close the channel they happened on; hard ones, and any on channel 0, the connection.
   * Before connection.tune-ok RabbitMQ explains nothing: it waits a little and drops the socket.
   */
  private onError(err: AmqpError, channelId: number): void {
    if (this.phase < State.Open) {
      this.logger.warn({ code: err.code, text: err.text }, 'handshake failed');
      this.endReason ??= `handshake failed: ${err.text}`;
      return this.closeSilently();
    }
    const channel = channelId === 0 ? undefined : this.channels.get(channelId);
    if (channel && !err.hard) return channel.closeWithError(err);
    this.closeWithError(err);
  }

  /** Where RabbitMQ's reader crashes (see ReaderCrash): the socket is reset, nothing said. */
  private onReaderCrash(err: ReaderCrash): void {
    this.logger.warn({ classId: err.key >>> 16, methodId: err.key & 0xffff }, err.reason);
    this.endReason = err.message;
    this.destroy();
  }

  /** A frame the parser cannot get past: the close is sent, but nothing more is read. */
  private onFrameError(err: FrameError): void {
    const { type, size } = err.header;
    const detail =
      err.kind === 'too-large'
        ? frameErrorDetail(type, EMPTY, ['frame_too_large', size, this.frameMax - FRAME_OVERHEAD])
        : frameErrorDetail(type, err.payload, ['invalid_frame_end_marker', err.frameEnd]);
    if (this.phase < State.Open) return this.closeSilently();
    const closing = new AmqpError(ReplyCode.FRAME_ERROR, `FRAME_ERROR - ${detail}`);
    this.logger.warn({ code: closing.code, text: closing.text }, 'closing connection on error');
    this.sendClose(closing, SILENT_CLOSE_DELAY_MS);
  }

  private onInternalError(err: unknown): void {
    this.logger.error({ err }, 'internal error');
    this.parser.stop();
    if (this.phase < State.Open) return this.closeSilently();
    this.closeWithError(amqpError(ReplyCode.INTERNAL_ERROR, String((err as Error)?.message ?? err)));
  }

  /** Sends connection.close for a hard error and waits for close-ok (up to RabbitMQ's 30 s). */
  closeWithError(err: AmqpError): void {
    if (this.phase >= State.Closing) return;
    this.logger.error({ code: err.code, text: err.text }, 'closing connection on error');
    this.endReason ??= `connection error: ${err.text}`;
    this.sendClose(err, CLOSING_TIMEOUT_MS);
  }

  private sendClose(err: AmqpError, timeoutMs: number): void {
    this.send(0, CONNECTION_CLOSE, { replyCode: err.code, replyText: wireReplyText(err.text), classId: err.classId, methodId: err.methodId });
    this.enterClosing(timeoutMs);
  }

  /** Closes the connection on the broker's initiative (reply code 320 and the like). */
  close(code: number, text: string): void {
    // an operator's close (the management API, a deleted vhost, shutdown) is no error of the client's
    if (this.phase >= State.Closing) return;
    this.logger.info({ code, text }, 'closing connection');
    this.endReason ??= `closed by the broker: ${text}`;
    this.sendClose(new AmqpError(code, text), CLOSING_TIMEOUT_MS);
  }

  private closeSilently(): void {
    this.enterClosed();
    this.closeTimer = this.clock.after(SILENT_CLOSE_DELAY_MS, () => this.destroy());
  }

  private enterClosing(timeoutMs: number): void {
    this.releaseChannels();
    this.phase = State.Closing;
    this.closeTimer = this.clock.after(timeoutMs, () => this.destroy());
  }

  private enterClosed(): void {
    this.releaseChannels();
    this.phase = State.Closed;
  }

  /** Gives back everything the connection holds in the broker, the first time it is called. */
  private releaseChannels(): void {
    this.clock.cancel(this.closeTimer);
    this.closeTimer = undefined;
    if (this.released) return;
    this.released = true;
    if (this.broker.connections.delete(this)) {
      this.broker.churn.connectionClosed++;
      this.virtualHost!.closedOctets.in += this.bytesIn;
      this.virtualHost!.closedOctets.out += this.bytesOut;
    }
    this.stopWaiting();
    for (const id of [...this.channels.keys()]) {
      this.channels.get(id)!.release();
      this.channelClosed(id);
    }
    this.virtualHost?.ownerGone(this);
    this.stopHeartbeats();
    this.clock.cancel(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private onHandshakeTimeout(): void {
    this.handshakeTimer = undefined;
    this.logger.info('handshake timeout');
    this.endReason ??= 'handshake timeout';
    this.destroy();
  }

  /**
   * Drops the socket with a reset, as RabbitMQ does whenever it gives up on a peer. Unsent output is
   * discarded (Node turns a reset right after a write into an ordinary close).
   */
  destroy(): void {
    this.endReason ??= 'socket dropped by the broker';
    this.enterClosed();
    this.parser.stop();
    if (this.socket.destroyed) return;
    // a TLS socket cannot be reset through its TLS layer: it is closed instead
    if (this.socket instanceof TLSSocket) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }

  private onSocketClosed(): void {
    if (this.endReason === undefined) this.logger.warn('client unexpectedly closed TCP connection');
    else this.logger.info({ reason: this.endReason }, 'connection closed');
    this.enterClosed();
    this.parser.stop();
    this.ctx.connectionClosed(this);
    announce('connection', this.broker, 'deleted', this.virtualHost?.name ?? '', this);
  }

  // ---- heartbeats ----

  /** One timer at half the interval: it sends when we were quiet, and checks the peer every other tick. */
  private startHeartbeats(): void {
    if (this.heartbeat === 0) return;
    this.heartbeatTimer = this.clock.every((this.heartbeat * 1000) / 2, () => this.onHeartbeatTick());
  }

  private stopHeartbeats(): void {
    this.clock.cancel(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Like RabbitMQ: a heartbeat after half an interval of silence from us; a peer silent for two checks is dropped. */
  private onHeartbeatTick(): void {
    if ((this.heartbeatTicks++ & 1) === 1) {
      if (this.receivedSinceBeat || this.readingPaused) {
        this.silentChecks = 0;
        this.receivedSinceBeat = false;
      } else if (++this.silentChecks >= 2) {
        this.logger.error({ timeout: this.heartbeat }, 'missed heartbeats from client');
        this.endReason ??= `missed heartbeats from client, timeout: ${this.heartbeat}s`;
        return this.destroy();
      }
    }
    // the heartbeat itself does not count as traffic: a quiet server beats every half interval
    if (!this.sentSinceBeat && this.out.empty) {
      if (observed.frame.hasSubscribers) this.observeOutput([HEARTBEAT_FRAME]);
      this.write(HEARTBEAT_FRAME);
    }
    this.sentSinceBeat = false;
  }

  // ---- output ----

  send<K extends Method['id']>(channel: number, id: K, args: Partial<MethodArgs<K>>): void {
    writeMethod(this.out, channel, id, args);
    this.scheduleFlush();
  }

  /** A channel has confirms to send: they go out, coalesced, with the next flush. */
  confirmsPending(writer: ConfirmWriter): void {
    this.pendingConfirms.push(writer);
    this.scheduleFlush();
  }

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  /** Writes everything queued in one go (a single writev for several buffers). */
  flush(): void {
    this.flushScheduled = false;
    // stored acks and messages reach the OS before any reply that follows them
    this.ctx.broker.writePending();
    if (this.pendingConfirms.length > 0) {
      for (const m of this.pendingConfirms) m.writeConfirms();
      this.pendingConfirms.length = 0;
    }
    if (this.out.empty || this.socket.destroyed) return;
    const buffers = this.out.drain();
    this.sentSinceBeat = true;
    if (observed.frame.hasSubscribers) this.observeOutput(buffers);
    if (buffers.length === 1) this.write(buffers[0]);
    else {
      this.socket.cork();
      for (const b of buffers) this.write(b);
      this.socket.uncork();
    }
    if (this.outputBlocked) this.onDrain();
  }

  private write(b: Buffer): void {
    if (this.blackholed) return;
    this.bytesOut += b.length;
    this.writes++;
    this.socket.write(b);
  }

  /**
   * The frames of one flush (which always holds whole frames), published on the frame channel. Read
   * back from the bytes written, so that listeners see exactly what went out.
   */
  private observeOutput(buffers: readonly Buffer[]): void {
    const { broker, id } = this;
    const parser = new FrameParser(
      { onFrame: (type, channel, payload) => observed.frame.publish({ broker, connection: id, channel, direction: 'out', type, payload }) },
      Infinity,
    );
    for (const b of buffers) parser.push(b);
  }

  get isRunning(): boolean {
    return this.phase === State.Running;
  }
}
