// Message properties as the management API writes and reads them in JSON (rabbit_mgmt_format);
// field tables convert as src/protocol/field-json.ts says.
import type { FieldTable } from '../protocol/field-table.js';
import { jsonToTable, tableToJson, type Json } from '../protocol/field-json.js';
import type { BasicProperties } from '../protocol/generated/spec.js';

export { fieldToJson, jsonToField, jsonToTable, tableToJson, type Json } from '../protocol/field-json.js';

/** Property names as RabbitMQ's API spells them. */
const PROPERTY_KEYS: readonly [keyof BasicProperties, string][] = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['headers', 'headers'],
  ['deliveryMode', 'delivery_mode'],
  ['priority', 'priority'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
];

/**
 * A message's properties as /get shows them. RabbitMQ writes the properties it finds in reverse
 * order, and no properties at all as an empty list (an empty Erlang proplist).
 */
export function propertiesToJson(p: BasicProperties): { [key: string]: Json } | [] {
  const out: { [key: string]: Json } = {};
  for (let i = PROPERTY_KEYS.length - 1; i >= 0; i--) {
    const [key, name] = PROPERTY_KEYS[i];
    const value = p[key];
    if (value === undefined) continue;
    out[name] = key === 'headers' ? tableToJson(value as FieldTable) : (value as Json);
  }
  return Object.keys(out).length === 0 ? [] : out;
}

/** Properties for /publish; unknown keys are ignored, as RabbitMQ ignores them. */
export function propertiesFromJson(o: { [key: string]: Json }): BasicProperties {
  const p: BasicProperties = {};
  for (const [key, name] of PROPERTY_KEYS) {
    const value = o[name];
    if (value === undefined || value === null) continue;
    if (key === 'headers') {
      if (typeof value === 'object' && !Array.isArray(value)) p.headers = jsonToTable(value);
    } else if (key === 'deliveryMode' || key === 'priority' || key === 'timestamp') {
      if (typeof value === 'number') (p as Record<string, unknown>)[key] = value;
    } else (p as Record<string, unknown>)[key] = String(value);
  }
  return p;
}
