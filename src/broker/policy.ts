// Policies: settings applied to the queues and exchanges whose names match a pattern, the highest
// priority policy winning. Where a queue argument says otherwise, RabbitMQ keeps the lower of the two
// for limits and TTLs, and the argument for the rest.
import { toFieldValue, type FieldTable, type PlainValue } from '../protocol/field-table.js';
import { erlTuple } from '../protocol/erlang-format.js';
import { compilePcre } from '../auth/pcre.js';
import { parseAge, printValue } from './arguments.js';

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

/** A validated policy, with its pattern compiled once. */
export interface CompiledPolicy extends Policy {
  readonly regex: RegExp;
}

/** The policy that applies to `name`: the matching one with the highest priority. */
export function effectivePolicy(policies: Iterable<CompiledPolicy>, kind: 'queue' | 'exchange', name: string): CompiledPolicy | undefined {
  let best: CompiledPolicy | undefined;
  for (const p of policies) {
    if (p.applyTo !== 'all' && p.applyTo !== (kind === 'queue' ? 'queues' : 'exchanges')) continue;
    if (!p.regex.test(name)) continue;
    if (best === undefined || p.priority > best.priority) best = p;
  }
  return best;
}

/** RabbitMQ's validation prefix for a pattern its regular expression library refuses. */
const BAD_PATTERN = 'pattern should be regular expression but is invalid: ';

/**
 * The policy with its pattern compiled, or RabbitMQ's complaint about it ("Validation failed\n\n"
 * and a line for its definition and one for its pattern, as RabbitMQ's HTTP API reports them).
 */
export function compilePolicy(policy: Policy): CompiledPolicy | { error: string } {
  const problems: string[] = [];
  const definition = definitionProblem(policy.definition);
  if (definition !== undefined) problems.push(definition);
  const compiled = compilePcre(policy.pattern);
  if ('error' in compiled) problems.push(BAD_PATTERN + erlTuple([erlString(compiled.error), compiled.offset], BAD_PATTERN.length - 1));
  if ('error' in compiled || problems.length > 0) return { error: `Validation failed\n\n${problems.map((p) => `${p}\n`).join('')}` };
  return { ...policy, regex: compiled.regex };
}

/** An Erlang string (a list of characters) as ~p prints it. */
function erlString(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
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
 * What RabbitMQ finds wrong with a policy definition: nothing, or one line. Values are checked in key
 * order and the first bad one is reported; unknown keys are reported only when the known ones are fine.
 */
function definitionProblem(definition: Policy['definition']): string | undefined {
  const keys = Object.keys(definition).sort();
  if (keys.length === 0) return 'no policy provided';
  for (const key of keys) {
    const validator = POLICY_VALIDATORS[key];
    if (validator !== undefined && !validator[0](definition[key])) return `${erlangTerm(definition[key])} ${validator[1]}`;
  }
  const unknown = keys.filter((k) => POLICY_VALIDATORS[k] === undefined);
  if (unknown.length > 0) return `[${unknown.map((k) => `{${erlangTerm(k)},${erlangTerm(definition[k])}}`).join(',')}] are not recognised policy settings`;
  return undefined;
}

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** The limits a queue's (validated) arguments set. */
export interface QueueLimits {
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  messageTtl: number | undefined;
  maxLength: number | undefined;
  maxLengthBytes: number | undefined;
  overflow: Overflow;
  /** x-expires: the queue is deleted after this long unused (no consumers, no basic.get, no redeclaration). */
  expires: number | undefined;
  /** x-max-priority: priorities above it count as it. */
  maxPriority: number | undefined;
  /** x-single-active-consumer: only the first consumer receives until it goes. */
  singleActiveConsumer: boolean;
  /** x-delivery-limit (quorum queues): returns beyond it dead-letter the message. */
  deliveryLimit: number | undefined;
}

/**
 * The limits from a queue's arguments and the policy that applies to it: for TTLs, lengths and the
 * delivery limit the lower value wins, for the rest the argument (RabbitMQ's resolution).
 */
export function queueLimits(queueArgs: FieldTable, policy?: Policy): QueueLimits {
  const args: FieldTable = { ...queueArgs };
  for (const [key, value] of Object.entries(policy?.definition ?? {})) {
    const mapping = QUEUE_POLICY_KEYS[key];
    if (!mapping) continue;
    const fromPolicy = toFieldValue(value);
    const fromArg = args[mapping.arg];
    if (fromArg === undefined) args[mapping.arg] = fromPolicy;
    else if (mapping.resolve === 'min' && Number(fromPolicy.value) < Number(fromArg.value)) args[mapping.arg] = fromPolicy;
  }
  const int = (key: string) => (args[key] === undefined ? undefined : Number(args[key].value));
  const overflow = args['x-overflow'];
  const text = (key: string) => (args[key] === undefined ? undefined : printValue(args[key]));
  return {
    deadLetterExchange: text('x-dead-letter-exchange'),
    deadLetterRoutingKey: text('x-dead-letter-routing-key'),
    messageTtl: int('x-message-ttl'),
    maxLength: int('x-max-length'),
    maxLengthBytes: int('x-max-length-bytes'),
    overflow: overflow === undefined ? 'drop-head' : (printValue(overflow) as Overflow),
    expires: int('x-expires'),
    maxPriority: int('x-max-priority'),
    singleActiveConsumer: args['x-single-active-consumer']?.value === true,
    deliveryLimit: int('x-delivery-limit'),
  };
}
