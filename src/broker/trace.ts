// RabbitMQ's firehose (rabbit_trace): with tracing on in a vhost, a copy of every message published
// there goes to amq.rabbitmq.trace as `publish.<exchange>`, and of every delivery as `deliver.<queue>`,
// carrying the original body and, in its headers, what the message was and who moved it, in the
// order RabbitMQ writes them.
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import { PROPERTY_NAMES, type BasicProperties } from '../protocol/generated/spec.js';
import { Message, contentHeaderOf } from './message.js';

export const TRACE_EXCHANGE = 'amq.rabbitmq.trace';

/** Who published or received the message: the connection's name, the channel, the user. */
export interface TraceSource {
  readonly connection: string;
  readonly channel: number;
  readonly user: string;
}

/** RabbitMQ's property names (its P_basic record's fields). */
const ERLANG_NAMES: Readonly<Record<keyof BasicProperties, string>> = {
  contentType: 'content_type',
  contentEncoding: 'content_encoding',
  headers: 'headers',
  deliveryMode: 'delivery_mode',
  priority: 'priority',
  correlationId: 'correlation_id',
  replyTo: 'reply_to',
  expiration: 'expiration',
  messageId: 'message_id',
  timestamp: 'timestamp',
  type: 'type',
  userId: 'user_id',
  appId: 'app_id',
  clusterId: 'cluster_id',
};

const longstr = (value: string): FieldValue => ({ type: 'S', value });
/** A 32-bit signed field, wrapped as Erlang's <<V:32/signed>> wraps a larger integer (a timestamp past 2038). */
const signedint = (value: number): FieldValue => ({ type: 'I', value: Number(BigInt.asIntN(32, BigInt(Math.trunc(value)))) });
const strings = (values: readonly string[]): FieldValue => ({ type: 'A', value: values.map(longstr) });

/** The properties as a table, last property first (rabbit_trace folds them onto a list). */
function propertiesTable(p: BasicProperties): FieldTable {
  const table: FieldTable = Object.create(null);
  for (let i = PROPERTY_NAMES.length - 1; i >= 0; i--) {
    const name = PROPERTY_NAMES[i];
    const v = p[name];
    if (v === undefined) continue;
    table[ERLANG_NAMES[name]] = typeof v === 'object' ? { type: 'F', value: v } : typeof v === 'number' ? signedint(v) : longstr(v);
  }
  return table;
}

/**
 * The trace copy of `message`. `routingKeys` are the message's key and its CC and BCC keys; `extra`
 * the headers that follow RabbitMQ's common ones.
 */
export function traceMessage(kind: 'publish' | 'deliver', name: string, message: Message, routingKeys: readonly string[], node: string, extra: FieldTable): Message {
  const headers: FieldTable = Object.create(null);
  headers.exchange_name = longstr(message.exchange);
  headers.routing_keys = strings(routingKeys);
  headers.properties = { type: 'F', value: propertiesTable(message.properties) };
  headers.node = longstr(node);
  Object.assign(headers, extra);
  return new Message(TRACE_EXCHANGE, `${kind}.${name}`, contentHeaderOf({ headers }, message.body.length), message.body);
}

export function publishExtra(vhost: string, source: TraceSource, routedQueues: readonly string[]): FieldTable {
  return { vhost: longstr(vhost), connection: longstr(source.connection), channel: signedint(source.channel), user: longstr(source.user), routed_queues: strings(routedQueues) };
}

export function deliverExtra(vhost: string, source: TraceSource, redelivered: boolean): FieldTable {
  return { redelivered: signedint(redelivered ? 1 : 0), vhost: longstr(vhost), connection: longstr(source.connection), channel: signedint(source.channel), user: longstr(source.user) };
}
