// A published message as the broker keeps it: the content header exactly as received (forwarded to
// consumers byte for byte) and the body as received, with properties decoded only when asked.
import { Reader, Writer } from '../protocol/codec.js';
import type { FieldTable } from '../protocol/field-table.js';
import { CONTENT_HEADER_PREFIX_SIZE, contentBodySize, writeContentHeader } from '../protocol/frames.js';
import { FLAG_CONTENT_ENCODING, FLAG_CONTENT_TYPE, FLAG_DELIVERY_MODE, FLAG_HEADERS, decodeProperties, type BasicProperties } from '../protocol/generated/spec.js';

export class Message {
  private decoded: BasicProperties | undefined;
  /** The CC and BCC keys it was published with, once its BCC header is gone (see withoutBcc). */
  senderKeys: readonly string[] | undefined = undefined;

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

  get persistent(): boolean {
    return deliveryModeOf(this.header) === 2;
  }
}

/** The delivery-mode property of a content header (0 without one), read straight from it: content-type, content-encoding and headers come before it. */
export function deliveryModeOf(h: Buffer): number {
  const flags = h.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2);
  if ((flags & FLAG_DELIVERY_MODE) === 0) return 0;
  let o = CONTENT_HEADER_PREFIX_SIZE;
  if (flags & FLAG_CONTENT_TYPE) o += 1 + h[o];
  if (flags & FLAG_CONTENT_ENCODING) o += 1 + h[o];
  if (flags & FLAG_HEADERS) o += 4 + h.readUInt32BE(o);
  return h[o];
}

/** A message's place in one queue. */
export interface QueuedMessage {
  readonly message: Message;
  /** Enqueue order, so requeued messages go back where they were. */
  readonly seq: number;
  redelivered: boolean;
  /** When it expires (ms since the epoch), 0 for never. */
  readonly expiresAt: number;
  /** Times it went back to a quorum queue (its x-delivery-count). */
  deliveryCount: number;
  /** Its place in the queue's log when it is stored there, else -1. */
  readonly ref: number;
}

/** A content header payload for `properties`: how a message the broker rewrites is encoded. */
export function contentHeaderOf(properties: BasicProperties, bodySize: number): Buffer {
  const w = new Writer(256);
  writeContentHeader(w, 0, bodySize, properties);
  return Buffer.concat(w.drain()).subarray(7, -1);
}

/** RabbitMQ hands out the header tables it rewrites with their keys in order. */
export function sortedTable(t: FieldTable): FieldTable {
  const sorted: FieldTable = Object.create(null);
  for (const key of Object.keys(t).sort()) sorted[key] = t[key];
  return sorted;
}

/** The message with one header set (a quorum queue's x-delivery-count). */
export function withHeader(m: Message, key: string, value: FieldTable[string]): Message {
  const properties = { ...m.properties, headers: sortedTable({ ...m.properties.headers, [key]: value }) };
  return new Message(m.exchange, m.routingKey, contentHeaderOf(properties, m.body.length), m.body);
}
