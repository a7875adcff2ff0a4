// AMQP field values as JSON, with RabbitMQ's conversions (rabbit_mgmt_format:amqp_table one way,
// rabbit_misc:to_amqp_table the other): what the management API and definitions files carry.
import type { FieldTable, FieldValue } from './field-table.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A field value in JSON: strings as text, numbers as numbers, tables as objects. */
export function fieldToJson(f: FieldValue): Json {
  switch (f.type) {
    case 'S':
    case 'x':
      return Buffer.isBuffer(f.value) ? f.value.toString('utf8') : f.value;
    case 'A':
      return f.value.map(fieldToJson);
    case 'F':
      return tableToJson(f.value);
    case 'V':
      return null;
    case 'D':
      return f.value.value / 10 ** f.value.scale;
    case 't':
      return f.value;
    default:
      return Number(f.value);
  }
}

export function tableToJson(t: FieldTable | undefined): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(t ?? {})) out[key] = fieldToJson(t![key]);
  return out;
}

/** A JSON value as an AMQP field, typed as RabbitMQ types it: integers as long, other numbers as double. */
export function jsonToField(v: Json): FieldValue {
  if (v === null) return { type: 'V', value: null };
  if (typeof v === 'string') return { type: 'S', value: v };
  if (typeof v === 'boolean') return { type: 't', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'l', value: v } : { type: 'd', value: v };
  if (Array.isArray(v)) return { type: 'A', value: v.map(jsonToField) };
  return { type: 'F', value: jsonToTable(v) };
}

export function jsonToTable(o: { [key: string]: Json }): FieldTable {
  const t: FieldTable = Object.create(null);
  for (const key of Object.keys(o)) t[key] = jsonToField(o[key]);
  return t;
}

