// One AMQP channel: the channel class (open, close, flow), content assembly (method, header, body
// frames), dispatch of the other classes' methods to their handler files, and the writing of
// deliveries. What the methods mean is decided by the channel's broker Session.
import { BrokerError } from '../broker/errors.js';
import type { Message } from '../broker/message.js';
import { PublishOutcome } from '../broker/publishing.js';
import type { ClientChannel } from '../broker/clients.js';
import type { Session, SessionOutput } from '../broker/session.js';
import { DecodeError } from '../protocol/codec.js';
import { cannotDecodeDetail } from '../protocol/erlang-format.js';
import { decodeAck, decodePublish, writeDeliver } from '../protocol/fast-path.js';
import { contentBodySize, methodKey, writeBody, writeMethod, writeRawFrame } from '../protocol/frames.js';
import {
  ACCESS_REQUEST,
  ACCESS_REQUEST_OK,
  BASIC_ACK,
  BASIC_CANCEL_OK,
  BASIC_CANCEL,
  BASIC_PUBLISH,
  BASIC_RETURN,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_FLOW,
  CHANNEL_FLOW_OK,
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONTENT_CLASS_ID,
  ClassId,
  FRAME_HEADER,
  FRAME_METHOD,
  METHODS,
  ReplyCode,
  type BasicPublish,
  type Method,
  type MethodArgs,
  type MethodInfo,
} from '../protocol/generated/spec.js';
import type { AmqpChannel, ConnectionPort, ContentMethod, PublishMode } from './channel-context.js';
import { AmqpError, ReaderCrash, amqpError, decodeMethodStrict, methodName, frameError, unexpectedNonMethod, wireReplyText } from './errors.js';
import { basicMethod, publish, settle } from './methods/basic.js';
import { confirmMethod } from './methods/confirm.js';
import { exchangeMethod } from './methods/exchange.js';
import { queueMethod } from './methods/queue.js';
import { txMethod } from './methods/tx.js';

const enum State {
  Open,
  /** We sent channel.close and wait for close-ok; other frames are dropped. */
  Closing,
}

const enum Content {
  /** Not inside a content-bearing method. */
  None,
  Header,
  Body,
}

/** The handler file of each class a channel carries (channel methods are handled here). */
const HANDLERS: ReadonlyMap<number, (ch: AmqpChannel, method: Method) => void> = new Map([
  [ClassId.EXCHANGE, exchangeMethod],
  [ClassId.QUEUE, queueMethod],
  [ClassId.BASIC, basicMethod],
  [ClassId.CONFIRM, confirmMethod],
  [ClassId.TX, txMethod],
]);

export class Channel implements AmqpChannel, SessionOutput, ClientChannel {
  private state = State.Open;
  private content = Content.None;
  private publishArgs: BasicPublish | undefined;
  private contentKey = 0;
  private contentHeader: Buffer | undefined;
  private bodySize = 0;
  private bodyParts: Buffer[] = [];
  private bodyReceived = 0;
  readonly session: Session;
  readonly outcome = new PublishOutcome();
  mode: PublishMode | undefined;

  constructor(
    readonly connection: ConnectionPort,
    readonly id: number,
    openSession: (output: SessionOutput) => Session,
  ) {
    this.session = openSession(this);
  }

  open(): void {
    this.connection.send(this.id, CHANNEL_OPEN_OK, { channelId: Buffer.alloc(0) });
  }

  // ---- as observers see it ----

  get number(): number {
    return this.id;
  }

  get channelNumber(): number {
    return this.id;
  }

  get connectionName(): string {
    return this.connection.name;
  }

  get confirm(): boolean {
    return this.mode?.kind === 'confirm';
  }

  get transactional(): boolean {
    return this.mode?.kind === 'tx';
  }

  get unconfirmed(): number {
    return this.mode?.kind === 'confirm' ? this.mode.heldPublishes : 0;
  }

  get uncommittedMessages(): number {
    return this.mode?.kind === 'tx' ? this.mode.heldPublishes : 0;
  }

  get uncommittedAcks(): number {
    return this.mode?.kind === 'tx' ? this.mode.heldAcks : 0;
  }

  /** Method, header and body frames of this channel (the connection has already vetted the frame type). */
  onFrame(type: number, payload: Buffer): void {
    if (this.state === State.Closing) return this.onFrameWhileClosing(type, payload);
    if (type === FRAME_METHOD) return this.onMethodFrame(payload);
    if (type === FRAME_HEADER) return this.onHeaderFrame(payload);
    return this.onBodyFrame(payload);
  }

  /** While closing, RabbitMQ drops everything but close-ok, answers a crossing close, and refuses a re-open. */
  private onFrameWhileClosing(type: number, payload: Buffer): void {
    if (type !== FRAME_METHOD) return;
    const method = decodeMethodStrict(payload);
    if (method.id === CHANNEL_CLOSE_OK) this.connection.channelClosed(this.id);
    else if (method.id === CHANNEL_CLOSE) this.connection.send(this.id, CHANNEL_CLOSE_OK, {});
    else if (method.id === CHANNEL_OPEN) throw secondOpen();
  }

  private onMethodFrame(payload: Buffer): void {
    if (payload.length < 4) throw frameError(FRAME_METHOD, payload, 'unknown_frame');
    const key = methodKey(payload);
    const info = METHODS.get(key);
    if (info === undefined) throw new ReaderCrash(key, 'unknown method');
    if (this.content === Content.Header) throw unexpectedFrame('expected content header for class 60, got non content header frame instead', this.contentKey);
    if (this.content === Content.Body) throw unexpectedFrame('expected content body, got non content body frame instead', this.contentKey);
    // the per-message methods take hand-written decoders
    if (key === BASIC_PUBLISH) {
      this.publishArgs = decodeFast(payload, decodePublish);
      this.content = Content.Header;
      this.contentKey = key;
      return;
    }
    if (key === BASIC_ACK) {
      const ack = decodeFast(payload, decodeAck);
      try {
        settle(this, ack.deliveryTag, ack.multiple, 'ack');
      } catch (err) {
        throw protocolError(err, key);
      }
      return;
    }
    const method = decodeMethodStrict(payload);
    if (info.content) {
      // a content method only the server sends: RabbitMQ's assembler takes its content first, then
      // the channel calls it unimplemented
      this.content = Content.Header;
      this.contentKey = key;
      return;
    }
    this.onMethod(method, info);
  }

  private onHeaderFrame(payload: Buffer): void {
    if (this.content === Content.None) throw unexpectedNonMethod();
    if (this.content === Content.Body) throw unexpectedFrame('expected content body, got non content body frame instead', this.contentKey);
    const classId = payload.readUInt16BE(0);
    // RabbitMQ's assembler only takes a header of weight 0 as one: any other is "non content header"
    if (payload.readUInt16BE(2) !== 0) {
      throw unexpectedFrame('expected content header for class 60, got non content header frame instead', this.contentKey);
    }
    if (classId !== CONTENT_CLASS_ID) {
      throw unexpectedFrame(`expected content header for class ${CONTENT_CLASS_ID}, got one for class ${classId} instead`, this.contentKey);
    }
    this.contentHeader = payload;
    this.bodySize = contentBodySize(payload);
    const max = this.connection.maxMessageSize;
    if (this.bodySize > max && this.contentKey === BASIC_PUBLISH) {
      // checked on the header rather than after the body, so a huge body is never buffered
      throw amqpError(ReplyCode.PRECONDITION_FAILED, `message size ${this.bodySize} is larger than configured max size ${max}`, this.contentKey);
    }
    this.bodyParts = [];
    this.bodyReceived = 0;
    if (this.bodySize === 0) return this.onContentComplete();
    this.content = Content.Body;
  }

  private onBodyFrame(payload: Buffer): void {
    if (this.content === Content.None) throw unexpectedNonMethod();
    if (this.content === Content.Header) {
      throw unexpectedFrame('expected content header for class 60, got non content header frame instead', this.contentKey);
    }
    this.bodyReceived += payload.length;
    if (this.bodyReceived === this.bodySize) {
      this.bodyParts.push(payload);
      return this.onContentComplete();
    }
    // a body that overshoots its declared size never completes (RabbitMQ then refuses the next
    // method with "expected content body"); nothing of it is kept, nor of a body nothing will use
    if (this.bodyReceived > this.bodySize || this.contentKey !== BASIC_PUBLISH) this.bodyParts = [];
    else this.bodyParts.push(payload);
  }

  private onContentComplete(): void {
    this.content = Content.None;
    if (this.contentKey !== BASIC_PUBLISH) throw unimplemented(this.contentKey);
    const args = this.publishArgs!;
    const body = this.bodyParts.length === 1 ? this.bodyParts[0] : Buffer.concat(this.bodyParts, this.bodyReceived);
    const header = this.contentHeader!;
    this.publishArgs = undefined;
    this.contentHeader = undefined;
    this.bodyParts = [];
    try {
      publish(this, args, header, body);
    } catch (err) {
      throw protocolError(err, BASIC_PUBLISH);
    }
    this.connection.publishing();
  }

  private onMethod(method: Method, info: MethodInfo): void {
    // methods only a server sends, and connection methods on a channel, are "unimplemented" for RabbitMQ
    if (!info.sentByClient || info.classId === ClassId.CONNECTION) throw unimplemented(method.id);
    switch (method.id) {
      case CHANNEL_OPEN:
        throw secondOpen();
      case CHANNEL_CLOSE:
        this.release();
        this.connection.send(this.id, CHANNEL_CLOSE_OK, {});
        this.connection.channelClosed(this.id);
        return;
      // answers to nothing asked: a close-ok outside a close (see onFrameWhileClosing), a cancel-ok
      // (RabbitMQ cancels consumers with nowait)
      case CHANNEL_CLOSE_OK:
      case BASIC_CANCEL_OK:
        throw unimplemented(method.id);
      case CHANNEL_FLOW:
        if (!method.args.active) throw amqpError(ReplyCode.NOT_IMPLEMENTED, 'active=false', method.id);
        this.connection.send(this.id, CHANNEL_FLOW_OK, { active: true });
        return;
      case ACCESS_REQUEST:
        this.connection.send(this.id, ACCESS_REQUEST_OK, { ticket: 1 });
        return;
    }
    const handler = HANDLERS.get(info.classId);
    if (handler === undefined) throw unimplemented(method.id);
    try {
      handler(this, method);
    } catch (err) {
      throw protocolError(err, method.id);
    }
  }

  // ---- output ----

  reply<K extends Method['id']>(id: K, args: Partial<MethodArgs<K>>): void {
    this.connection.send(this.id, id, args);
  }

  get writable(): boolean {
    return this.connection.writable;
  }

  /** A delivery to a consumer: basic.deliver, then the content as the publisher sent it. */
  deliver(consumerTag: string, deliveryTag: number, redelivered: boolean, m: Message): void {
    writeDeliver(this.connection.out, this.id, consumerTag, deliveryTag, redelivered, m.exchange, m.routingKey);
    this.writeContent(m);
  }

  /** The queue went away: clients that understand it are told with basic.cancel. */
  consumerCancelled(consumerTag: string): void {
    if (this.connection.hasCapability('consumer_cancel_notify')) this.reply(BASIC_CANCEL, { consumerTag, nowait: true });
  }

  sendContent<K extends ContentMethod>(id: K, args: MethodArgs<K>, m: Message): void {
    writeMethod(this.connection.out, this.id, id, args as Partial<MethodArgs<K>>);
    this.writeContent(m);
  }

  returnUnroutable(outcome: PublishOutcome): void {
    const m = outcome.message!;
    this.sendContent(BASIC_RETURN, { replyCode: ReplyCode.NO_ROUTE, replyText: 'NO_ROUTE', exchange: m.exchange, routingKey: m.routingKey }, m);
  }

  /** The content header as the publisher sent it, then the body in frames. */
  private writeContent(m: Message): void {
    const out = this.connection.out;
    writeRawFrame(out, FRAME_HEADER, this.id, m.header);
    writeBody(out, this.id, m.body, this.connection.frameMax);
    this.connection.scheduleFlush();
  }

  // ---- closing ----

  /** Sends channel.close for a soft error; the id stays taken until the client's close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.state === State.Closing) return;
    // as RabbitMQ, a channel error is logged as an error, naming the connection and the channel
    this.connection.logger.error({ channel: this.id, code: err.code, text: err.text, method: err.methodKey === 0 ? undefined : methodName(err.methodKey) }, 'channel error');
    this.release();
    this.state = State.Closing;
    this.content = Content.None;
    this.connection.send(this.id, CHANNEL_CLOSE, {
      replyCode: err.code,
      replyText: wireReplyText(err.text),
      classId: err.classId,
      methodId: err.methodId,
    });
  }

  /** RabbitMQ's consumer_timeout: a delivery left unacknowledged too long closes the channel. */
  checkAckTimeout(now: number, timeoutMs: number): void {
    const oldest = this.session.oldestUnacked;
    if (this.state !== State.Open || oldest === undefined || now - oldest <= timeoutMs) return;
    this.closeWithError(
      amqpError(
        ReplyCode.PRECONDITION_FAILED,
        `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${timeoutMs} ms. This timeout value can be configured, see consumers doc guide to learn more`,
      ),
    );
  }

  /** The socket drained: consumers that waited for it may receive again. */
  resumeDeliveries(): void {
    if (this.state === State.Open) this.session.dispatchAll();
  }

  /** Gives back what the channel holds in the broker: consumers go, unacked messages are requeued. */
  release(): void {
    this.publishArgs = undefined;
    this.contentHeader = undefined;
    this.bodyParts = [];
    this.mode?.release();
    this.session.release();
  }
}

/** A broker refusal becomes a protocol error naming the method; a crash names no method. */
function protocolError(err: unknown, key: number): unknown {
  if (err instanceof BrokerError) return new AmqpError(err.code, err.text, err.code === ReplyCode.INTERNAL_ERROR ? 0 : key);
  return err;
}

/** Runs a hand-written decoder, failing as RabbitMQ does on arguments it cannot decode. */
function decodeFast<T>(payload: Buffer, decode: (payload: Buffer) => T): T {
  try {
    return decode(payload);
  } catch (err) {
    if (err instanceof DecodeError) throw amqpError(ReplyCode.FRAME_ERROR, cannotDecodeDetail(payload.subarray(4)), methodKey(payload));
    throw err;
  }
}

function secondOpen(): AmqpError {
  return amqpError(ReplyCode.CHANNEL_ERROR, "second 'channel.open' seen", CHANNEL_OPEN);
}

function unimplemented(key: number): AmqpError {
  return amqpError(ReplyCode.COMMAND_INVALID, 'unimplemented method', key);
}

function unexpectedFrame(detail: string, key: number): AmqpError {
  return amqpError(ReplyCode.UNEXPECTED_FRAME, detail, key);
}
