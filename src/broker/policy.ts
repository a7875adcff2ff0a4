// Policies: settings applied to the queues and exchanges whose names match a pattern, the highest
// priority policy winning. Where a queue argument says otherwise, RabbitMQ keeps the lower of the two
// for limits and TTLs, and the argument for the rest.
import type { PlainValue } from '../protocol/field-table.js';
import { parseAge } from './arguments.js';

export type PolicyTarget = 'queues' | 'exchanges' | 'all';

export interface Policy {
  name: string;
  pattern: string;
  applyTo: PolicyTarget;
  priority: number;
  definition: { [key: string]: PlainValue };
}

/** The policy keys Warren applies, and the queue argument each one stands for. */
export const QUEUE_POLICY_KEYS: Readonly<Record<string, { arg: string; resolve: 'min' | 'arg' }>> = {
  'message-ttl': { arg: 'x-message-ttl', resolve: 'min' },
  expires: { arg: 'x-expires', resolve: 'min' },
  'max-length': { arg: 'x-max-length', resolve: 'min' },
  'max-length-bytes': { arg: 'x-max-length-bytes', resolve: 'min' },
  overflow: { arg: 'x-overflow', resolve: 'arg' },
  'dead-letter-exchange': { arg: 'x-dead-letter-exchange', resolve: 'arg' },
  'dead-letter-routing-key': { arg: 'x-dead-letter-routing-key', resolve: 'arg' },
  'delivery-limit': { arg: 'x-delivery-limit', resolve: 'min' },
};

/** The policy that applies to `name`: the matching one with the highest priority. */
export function effectivePolicy(policies: Iterable<Policy>, kind: 'queue' | 'exchange', name: string): Policy | undefined {
  let best: Policy | undefined;
  for (const p of policies) {
    if (p.applyTo !== 'all' && p.applyTo !== (kind === 'queue' ? 'queues' : 'exchanges')) continue;
    if (!new RegExp(p.pattern).test(name)) continue;
    if (best === undefined || p.priority > best.priority) best = p;
  }
  return best;
}

/** A JSON value as Erlang's ~p prints the term RabbitMQ decodes it to: strings as binaries. */
function erlangTerm(v: PlainValue): string {
  if (typeof v === 'string') return `<<"${v}">>`;
  if (Array.isArray(v)) return `[${v.map(erlangTerm).join(',')}]`;
  if (v === null) return 'null';
  return String(v);
}

const isInt = (v: PlainValue, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isText = (v: PlainValue) => typeof v === 'string';

/** RabbitMQ's policy validators: whether a value is acceptable, and the complaint when it is not. */
const POLICY_VALIDATORS: Readonly<Record<string, [(v: PlainValue) => boolean, string]>> = {
  'alternate-exchange': [isText, 'is not a valid alternate exchange name'],
  'dead-letter-exchange': [isText, 'is not a valid dead letter exchange name'],
  'dead-letter-routing-key': [isText, 'is not a valid dead letter routing key'],
  'dead-letter-strategy': [(v) => v === 'at-most-once' || v === 'at-least-once', 'is not a valid dead letter strategy'],
  'message-ttl': [(v) => isInt(v, 0), 'is not a valid message TTL'],
  expires: [(v) => isInt(v, 1), 'is not a valid queue expiry'],
  'max-length': [(v) => isInt(v, 0), 'is not a valid maximum length'],
  'max-length-bytes': [(v) => isInt(v, 0), 'is not a valid maximum length in bytes'],
  'max-in-memory-length': [(v) => isInt(v, 0), 'is not a valid maximum memory in bytes'],
  'max-in-memory-bytes': [(v) => isInt(v, 0), 'is not a valid maximum memory in bytes'],
  'queue-mode': [(v) => v === 'default' || v === 'lazy', 'is not a valid queue-mode value'],
  'queue-version': [(v) => v === 1 || v === 2, 'is not a valid queue-version value'],
  overflow: [(v) => v === 'drop-head' || v === 'reject-publish' || v === 'reject-publish-dlx', 'is not a valid overflow value'],
  'delivery-limit': [(v) => isInt(v, 0), 'is not a valid delivery limit'],
  'max-age': [(v) => typeof v === 'string' && typeof parseAge(v) === 'number', 'is not a valid max age'],
  'queue-leader-locator': [(v) => ['client-local', 'balanced', 'random', 'least-leaders'].includes(v as string), 'is not a valid queue leader locator value'],
  'initial-cluster-size': [(v) => isInt(v, 0), 'is not a valid cluster size'],
  'stream-max-segment-size-bytes': [(v) => isInt(v, 0) && (v as number) <= 3_000_000_000, 'is not a valid segment size'],
};

/**
 * RabbitMQ's complaint about a policy definition ("Validation failed\n\n…"), or undefined when it is
 * acceptable: unknown keys first, then each value.
 */
export function policyDefinitionError(definition: Policy['definition']): string | undefined {
  const unknown = Object.entries(definition).filter(([k]) => POLICY_VALIDATORS[k] === undefined);
  if (unknown.length > 0) {
    const terms = unknown.map(([k, v]) => `{${erlangTerm(k)},${erlangTerm(v)}}`).join(',');
    return `Validation failed\n\n[${terms}] are not recognised policy settings\n`;
  }
  for (const [key, value] of Object.entries(definition)) {
    const [valid, complaint] = POLICY_VALIDATORS[key];
    if (!valid(value)) return `Validation failed\n\n${erlangTerm(value)} ${complaint}\n`;
  }
  return undefined;
}
