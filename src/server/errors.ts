// Protocol errors as RabbitMQ reports them: a reply code, a text prefixed with the code's name, and
// the class and method that caused it.
import { DecodeError, TableError, Utf8Error } from '../protocol/codec.js';
import { decodeMethod, methodKey } from '../protocol/frames.js';
import { FRAME_METHOD, HARD_ERRORS, METHODS, REPLY_NAMES, ReplyCode, type Method } from '../protocol/generated/spec.js';
import { cannotDecodeDetail, frameErrorDetail } from '../protocol/erlang-format.js';

export class AmqpError extends Error {
  constructor(
    readonly code: number,
    /** The whole reply text, e.g. "NOT_FOUND - no queue 'q' in vhost '/'". */
    readonly text: string,
    /** Method key (class << 16 | method) of the method that failed, 0 when none. */
    readonly methodKey = 0,
  ) {
    super(text);
  }

  get hard(): boolean {
    return HARD_ERRORS.has(this.code);
  }

  get classId(): number {
    return this.methodKey >>> 16;
  }

  get methodId(): number {
    return this.methodKey & 0xffff;
  }
}

/** A reply text as it goes on the wire: over 255 bytes, RabbitMQ keeps 252 and adds "...". */
export function wireReplyText(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= 255 ? text : `${bytes.subarray(0, 252).toString('utf8')}...`;
}

/** An error whose text is "<CODE_NAME> - <detail>", as RabbitMQ's protocol errors read. */
export function amqpError(code: number, detail: string, methodKey = 0): AmqpError {
  return new AmqpError(code, `${REPLY_NAMES[code]} - ${detail}`, methodKey);
}

/** RabbitMQ's name for a method in reply texts, e.g. 'basic.publish'. */
export function methodName(key: number): string {
  return METHODS.get(key)?.name ?? `unknown method ${key >>> 16}/${key & 0xffff}`;
}

/**
 * A method RabbitMQ has no decoder for, or a field table in one its parser has no clause for: its
 * reader crashes and the socket is reset, nothing said.
 */
export class ReaderCrash extends Error {
  constructor(
    readonly key: number,
    readonly reason: string,
  ) {
    super(`${reason} (method ${key >>> 16}/${key & 0xffff})`);
  }
}

/** 501 FRAME_ERROR for a frame RabbitMQ's reader rejects, with its `type N, all octets = <<...>>` detail. */
export function frameError(type: number, payload: Buffer, reason: string): AmqpError {
  return amqpError(ReplyCode.FRAME_ERROR, frameErrorDetail(type, payload, reason));
}

export function unexpectedNonMethod(methodKey = 0): AmqpError {
  return amqpError(ReplyCode.UNEXPECTED_FRAME, 'expected method frame, got non method frame instead', methodKey);
}

/** A frame type that has no business on a channel: heartbeats are unexpected, unknown types malformed. */
export function channelFrameError(type: number, payload: Buffer): AmqpError {
  return type === 8
    ? amqpError(ReplyCode.UNEXPECTED_FRAME, frameErrorDetail(type, payload))
    : frameError(type, payload, 'unknown_frame');
}

function layoutFits(payload: Buffer): boolean {
  try {
    decodeMethod(payload, true);
    return true;
  } catch (err) {
    if (err instanceof DecodeError) return false;
    throw err;
  }
}

/**
 * Decodes a method frame as RabbitMQ's reader does, raising the errors it raises. Methods on channel 0
 * (`connection`) are decoded by the reader's handle_method0, whose catch passes on only errors that
 * name no method, with the method added: assert_utf8's; "cannot decode" and a table it cannot parse
 * escape it as a crash (541).
 */
export function decodeMethodStrict(payload: Buffer, connection = false): Method {
  if (payload.length < 4) throw frameError(FRAME_METHOD, payload, 'unknown_frame');
  const key = methodKey(payload);
  try {
    const method = decodeMethod(payload);
    if (method === undefined) throw new ReaderCrash(key, 'unknown method');
    return method;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    // RabbitMQ matches the whole layout (lengths, the end) before it checks strings or parses tables
    const laidOut = err instanceof TableError || err instanceof Utf8Error ? layoutFits(payload) : false;
    if (err instanceof Utf8Error && laidOut) throw amqpError(ReplyCode.FRAME_ERROR, err.message, connection ? key : 0);
    if (connection) throw new AmqpError(ReplyCode.INTERNAL_ERROR, 'INTERNAL_ERROR');
    if (!laidOut) throw amqpError(ReplyCode.FRAME_ERROR, cannotDecodeDetail(payload.subarray(4)), key);
    throw new ReaderCrash(key, `field table it cannot parse: ${err.message}`);
  }
}
