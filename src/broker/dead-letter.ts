// Dead-lettering: the message a queue gives up on, rewritten as RabbitMQ rewrites it (the x-death
// history, x-first-death-* headers, the expiration moved into the history) for its dead-letter exchange.
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import { decodeContentHeader } from '../protocol/frames.js';
import { Message, contentHeaderOf, sortedTable } from './message.js';

export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

const str = (value: string): FieldValue => ({ type: 'S', value });

/** A death entry's field, as a string. */
function field(entry: FieldTable, key: string): string | undefined {
  const f = entry[key];
  return f === undefined ? undefined : Buffer.isBuffer(f.value) ? f.value.toString() : String(f.value);
}

/**
 * The message as it leaves `queue` for `reason`: routed with the dead-letter routing key when the queue
 * has one, else with its own routing key.
 */
export function deadLettered(m: Message, queue: string, reason: DeathReason, exchange: string, routingKey: string | undefined, now: number): Message {
  const properties = { ...decodeContentHeader(m.header).properties };
  const headers: FieldTable = { ...(properties.headers ?? {}) };
  const history = headers['x-death']?.type === 'A' ? headers['x-death'].value.filter((v) => v.type === 'F') : [];
  const same = history.findIndex((v) => v.type === 'F' && field(v.value, 'queue') === queue && field(v.value, 'reason') === reason);
  let entry: FieldTable;
  if (same >= 0) {
    // the same queue and reason again: the count grows, the entry moves to the front, and (as
    // RabbitMQ rebuilds it) its keys come out sorted
    const old = history.splice(same, 1)[0].value as FieldTable;
    entry = sortedTable({ ...old, count: { type: 'l', value: Number(old.count?.value ?? 0) + 1 } });
  } else {
    entry = {
      count: { type: 'l', value: 1 },
      reason: str(reason),
      queue: str(queue),
      time: { type: 'T', value: Math.floor(now / 1000) },
      exchange: str(m.exchange),
      'routing-keys': { type: 'A', value: [str(m.routingKey)] },
    };
    if (properties.expiration !== undefined) entry['original-expiration'] = str(properties.expiration);
  }
  delete properties.expiration;
  headers['x-death'] = { type: 'A', value: [{ type: 'F', value: entry }, ...history] };
  headers['x-first-death-exchange'] ??= str(m.exchange);
  headers['x-first-death-queue'] ??= str(queue);
  headers['x-first-death-reason'] ??= str(reason);
  // RabbitMQ hands out the rewritten headers in key order
  properties.headers = sortedTable(headers);
  return new Message(exchange, routingKey ?? m.routingKey, contentHeaderOf(properties, m.body.length), m.body);
}

/**
 * RabbitMQ's cycle rule: a message that would come back to a queue it already died in is dropped,
 * unless a client rejected it somewhere on the way.
 */
export function wouldCycle(m: Message, queue: string): boolean {
  const history = m.properties.headers?.['x-death'];
  if (history?.type !== 'A') return false;
  let seen = false;
  for (const v of history.value) {
    if (v.type !== 'F') continue;
    if (field(v.value, 'reason') === 'rejected') return false;
    if (field(v.value, 'queue') === queue) seen = true;
  }
  return seen;
}

