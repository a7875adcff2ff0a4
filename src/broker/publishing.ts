// What a published message is checked for and rewritten with, and what publishing it did: the rules
// that belong to a message, whichever door (AMQP, HTTP, a test) it came in by.
import { FIELD_TYPE_NAMES } from '../protocol/field-table.js';
import { CONTENT_HEADER_PREFIX_SIZE, decodeContentHeader } from '../protocol/frames.js';
import { FLAG_DELIVERY_MODE, FLAG_EXPIRATION, FLAG_HEADERS, FLAG_REPLY_TO, FLAG_USER_ID, propertiesEnd } from '../protocol/generated/spec.js';
import { internalError, preconditionFailed } from './errors.js';
import { Message, contentHeaderOf, deliveryModeOf, sortedTable } from './message.js';
import { Enqueued, type Queue } from './queue.js';
import type { QueueLog } from './store.js';

/**
 * What a publish did. One instance is reused publish after publish by each publisher; the broker
 * clears it at the start of each publish.
 */
export class PublishOutcome {
  /**
   * The queues the message reached. Replaced rather than cleared: V8 links a cleared Set's old table
   * to its new one, and a long-lived chain of them defeats the young-generation collector.
   */
  queues = new Set<Queue>();
  /** Enqueued flags of all of them. */
  flags = 0;
  /** The logs the message was written to (for a confirm that must hear how their fsync went). */
  readonly logs: QueueLog[] = [];
  /** Queues so far behind their consumers that the publisher should wait (flow control). */
  readonly overloaded: Queue[] = [];
  /** Went to a direct reply-to consumer. */
  replied = false;
  /** The message as the broker kept it (after rewrites), for a basic.return. */
  message: Message | undefined;

  clear(): void {
    if (this.queues.size > 0) this.queues = new Set();
    this.flags = 0;
    this.logs.length = 0;
    this.overloaded.length = 0;
    this.replied = false;
    this.message = undefined;
  }

  /** Nothing took it: no queue, no reply consumer. */
  get unroutable(): boolean {
    return this.queues.size === 0 && !this.replied;
  }

  /** A queue refused it, or took it without the durability its confirm promises. */
  get rejected(): boolean {
    return (this.flags & (Enqueued.Refused | Enqueued.NotStored)) !== 0;
  }

  /** Its confirm must wait for an fsync. */
  get mustSync(): boolean {
    return (this.flags & Enqueued.Stored) !== 0;
  }
}

/**
 * RabbitMQ decodes a published message's properties once it has checked the exchange: values that
 * run short or past the header, or a headers table it cannot parse, crash its channel (a bare 541).
 * Gives the property flags.
 */
export function checkWellFormed(header: Buffer): number {
  // the assembler took a header of 12 bytes or more; the flags word may still be missing
  if (header.length < CONTENT_HEADER_PREFIX_SIZE) throw internalError();
  const flags = header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2);
  if (propertiesEnd(flags, header, CONTENT_HEADER_PREFIX_SIZE, header.length) !== header.length) throw internalError();
  return flags;
}

/**
 * A message's own TTL from its expiration property, parsed as RabbitMQ parses it (or its 406);
 * undefined without one.
 */
export function messageTtl(header: Buffer): number | undefined {
  if ((header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_EXPIRATION) === 0) return undefined;
  const expiration = decodeContentHeader(header).properties.expiration ?? '';
  const m = /^([+-]?\d+)([\s\S]*)$/.exec(expiration);
  // as an Erlang integer: exact however long
  const n = m ? BigInt(m[1]) : 0n;
  const reason = !m ? 'no_integer' : m[2] !== '' ? `{leftover_string,${JSON.stringify(m[2])}}` : n < 0n ? `{value_negative,${n}}` : n > MAX_EXPIRY ? `{value_too_large,${n}}` : undefined;
  if (reason !== undefined) throw preconditionFailed(`invalid expiration '${expiration}': ${reason}`);
  return Number(m![1]);
}

/** rabbit_misc:check_expiry's ceiling: ten years, in ms. */
const MAX_EXPIRY = 315_360_000_000n;

/**
 * RabbitMQ's check_user_id_header: a user_id property must name the connection's user, unless the
 * user is tagged impersonator.
 */
export function checkUserId(header: Buffer, user: string, impersonator: boolean): void {
  if ((header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_USER_ID) === 0 || impersonator) return;
  const claimed = decodeContentHeader(header).properties.userId ?? '';
  if (claimed !== user) throw preconditionFailed(`user_id property set to '${claimed}' but authenticated user was '${user}'`);
}

const CC_BYTES = Buffer.from('CC');

/** The pseudo-queue of direct reply-to: consumed to get replies, named as reply_to to ask for them. */
export const REPLY_TO = 'amq.rabbitmq.reply-to';

/** Whether the reply_to property names amq.rabbitmq.reply-to (which the channel's reply address replaces). */
export function asksForDirectReply(header: Buffer): boolean {
  return (header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_REPLY_TO) !== 0 && decodeContentHeader(header).properties.replyTo === REPLY_TO;
}

/**
 * What rabbit_basic refuses when it makes the message, after the expiration is checked: CC or BCC
 * headers that are not arrays (CC first), then a delivery mode other than 1 or 2.
 */
export function checkMessage(header: Buffer): void {
  const flags = header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2);
  if (flags & FLAG_HEADERS && header.includes(CC_BYTES)) {
    const headers = decodeContentHeader(header).properties.headers;
    for (const name of ['CC', 'BCC']) {
      const v = headers?.[name];
      if (v && v.type !== 'A') throw preconditionFailed(`invalid message: {unacceptable_type_in_header,"${name}",${FIELD_TYPE_NAMES[v.type]}}`);
    }
  }
  if (flags & FLAG_DELIVERY_MODE) {
    const mode = deliveryModeOf(header);
    if (mode !== 1 && mode !== 2) throw preconditionFailed(`invalid message: {delivery_mode_unknown,${mode}}`);
  }
}

/** The CC and BCC routing keys of a message (arrays of strings in its headers), if it has any. */
export function senderSelected(m: Message): { keys: string[]; bcc: boolean } | undefined {
  // most messages have no headers, or none named CC/BCC: look at the bytes before decoding anything
  if ((m.header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_HEADERS) === 0 || !m.header.includes(CC_BYTES)) return undefined;
  const headers = m.properties.headers;
  if (!headers) return undefined;
  const keys: string[] = [];
  for (const name of ['CC', 'BCC']) {
    const list = headers[name];
    if (list?.type !== 'A') continue;
    for (const v of list.value) if (v.type === 'S') keys.push(String(v.value));
  }
  if (keys.length === 0 && headers.BCC === undefined) return undefined;
  return { keys, bcc: headers.BCC !== undefined };
}

/** The message with its BCC header removed, as RabbitMQ delivers it; it remembers its CC and BCC keys. */
export function withoutBcc(m: Message, keys: readonly string[]): Message {
  const headers = { ...m.properties.headers };
  delete headers.BCC;
  const delivered = new Message(m.exchange, m.routingKey, contentHeaderOf({ ...m.properties, headers: sortedTable(headers) }, m.body.length), m.body);
  delivered.senderKeys = keys;
  return delivered;
}

/** Every routing key the message was published with: its own, then its CC and BCC ones (RabbitMQ's routing_keys). */
export function routingKeysOf(m: Message): string[] {
  return [m.routingKey, ...(m.senderKeys ?? senderSelected(m)?.keys ?? [])];
}
