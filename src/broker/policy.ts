// Policies: settings applied to the queues and exchanges whose names match a pattern, the highest
// priority policy winning. Where a queue argument says otherwise, RabbitMQ keeps the lower of the two
// for limits and TTLs, and the argument for the rest.
import type { PlainValue } from '../protocol/field-table.js';

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
