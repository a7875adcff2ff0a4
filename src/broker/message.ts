// A published message as the broker keeps it: the content header exactly as received (forwarded to
// consumers byte for byte) and the body as received, with properties decoded only when asked.
import { Reader } from '../protocol/codec.js';
import { CONTENT_HEADER_PREFIX_SIZE, contentBodySize } from '../protocol/frames.js';
import { decodeProperties, type BasicProperties } from '../protocol/generated/spec.js';

export class Message {
  private decoded: BasicProperties | undefined;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** The content header frame payload: class, weight, body size, flags and property values. */
    readonly header: Buffer,
    readonly body: Buffer,
  ) {}

  get properties(): BasicProperties {
    this.decoded ??= decodeProperties(this.header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2), new Reader(this.header, CONTENT_HEADER_PREFIX_SIZE));
    return this.decoded;
  }

  get bodySize(): number {
    return contentBodySize(this.header);
  }
}

/** A message's place in one queue. */
export interface QueuedMessage {
  readonly message: Message;
  /** Enqueue order, so requeued messages go back where they were. */
  readonly seq: number;
  redelivered: boolean;
  /** When it expires (ms since the epoch), 0 for never. */
  readonly expiresAt: number;
}
