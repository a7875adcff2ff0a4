// Durable exchanges, queues, bindings and policies as store definitions, and back.
import { Reader, Writer } from '../protocol/codec.js';
import type { FieldTable } from '../protocol/field-table.js';
import type { ExchangeDeclare, QueueDeclare } from './virtual-host.js';
import type { Binding } from './exchange.js';
import type { Policy } from './policy.js';
import type { Definition, JsonValue } from './store.js';

/** Argument tables keep their AMQP types on disk (a long stays a long): stored as encoded bytes. */
function tableToText(t: FieldTable): string {
  const w = new Writer(256);
  w.table(t);
  return Buffer.concat(w.drain()).toString('base64');
}

function tableFromText(text: string): FieldTable {
  return new Reader(Buffer.from(text, 'base64'), 0).table();
}

export function exchangeDefinition(vhost: string, d: Omit<ExchangeDeclare, 'passive'>): Definition {
  return { kind: 'exchange', vhost, key: d.name, value: { type: d.type, durable: d.durable, autoDelete: d.autoDelete, internal: d.internal, args: tableToText(d.args) } };
}

export function exchangeFromDefinition(d: Definition): ExchangeDeclare {
  const v = d.value;
  return { name: d.key, type: String(v.type), passive: false, durable: true, autoDelete: v.autoDelete === true, internal: v.internal === true, args: tableFromText(String(v.args)) };
}

export function queueDefinition(vhost: string, name: string, d: { autoDelete: boolean; args: FieldTable }): Definition {
  return { kind: 'queue', vhost, key: name, value: { autoDelete: d.autoDelete, args: tableToText(d.args) } };
}

export function queueFromDefinition(d: Definition): Omit<QueueDeclare, 'owner'> {
  return { name: d.key, passive: false, durable: true, exclusive: false, autoDelete: d.value.autoDelete === true, args: tableFromText(String(d.value.args)) };
}

export function bindingDefinition(vhost: string, b: Binding): Definition {
  return {
    kind: 'binding',
    vhost,
    key: `${b.source.name}\u0000${b.id}`,
    value: { source: b.source.name, destinationKind: b.destination.kind, destination: b.destination.name, routingKey: b.routingKey, args: tableToText(b.args) },
  };
}

export interface StoredBinding {
  source: string;
  destinationKind: 'queue' | 'exchange';
  destination: string;
  routingKey: string;
  args: FieldTable;
}

export function bindingFromDefinition(d: Definition): StoredBinding {
  const v = d.value;
  return { source: String(v.source), destinationKind: v.destinationKind === 'exchange' ? 'exchange' : 'queue', destination: String(v.destination), routingKey: String(v.routingKey), args: tableFromText(String(v.args)) };
}

export function policyDefinition(vhost: string, p: Policy): Definition {
  return { kind: 'policy', vhost, key: p.name, value: { pattern: p.pattern, applyTo: p.applyTo, priority: p.priority, definition: p.definition as { [key: string]: JsonValue } } };
}

export function policyFromDefinition(d: Definition): Policy {
  const v = d.value;
  return { name: d.key, pattern: String(v.pattern), applyTo: v.applyTo as Policy['applyTo'], priority: Number(v.priority), definition: v.definition as Policy['definition'] };
}
