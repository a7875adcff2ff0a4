// Validation and comparison of queue and exchange arguments, with RabbitMQ's reply texts.
import { FIELD_TYPE_NAMES, toFieldValue, type FieldTable, type FieldValue } from '../protocol/field-table.js';
import { QUEUE_POLICY_KEYS, type Policy } from './policy.js';
import { internalError, preconditionFailed } from './errors.js';

const INTEGER_TYPES = 'bBsuIil';

/** Erlang's ~p of a float: 10.0, 1.5, 1.0e21. */
function erlFloat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return `${v}.0`;
  const s = String(v);
  return s.includes('e') ? s.replace(/^(-?\d+)(e)/, '$1.0$2').replace('e+', 'e') : s;
}

/** A field's value as RabbitMQ prints it inside quotes in equivalence errors. */
export function printValue(f: FieldValue): string {
  if (f.type === 'f' || f.type === 'd') return erlFloat(f.value);
  if (Buffer.isBuffer(f.value)) return f.value.toString('utf8');
  return String(f.value);
}

function typeClass(type: string): string {
  if (INTEGER_TYPES.includes(type)) return 'int';
  if (type === 'x') return 'S';
  return type;
}

/** Equal for RabbitMQ's argument checks: integers of any width alike, strings and byte arrays alike. */
export function sameArgument(a: FieldValue, b: FieldValue): boolean {
  return typeClass(a.type) === typeClass(b.type) && printValue(a) === printValue(b);
}

function describe(f: FieldValue | undefined): string {
  return f === undefined ? 'none' : `the value '${printValue(f)}' of type '${FIELD_TYPE_NAMES[f.type]}'`;
}

/** RabbitMQ's "inequivalent arg" check of a declaration property (type, durable, auto_delete…). */
export function assertField(what: string, key: string, current: unknown, received: unknown): void {
  if (current !== received) {
    throw preconditionFailed(`inequivalent arg '${key}' for ${what}: received '${String(received)}' but current is '${String(current)}'`);
  }
}

/** RabbitMQ's "inequivalent arg" check over the argument keys it compares. */
export function assertArgsEquivalent(what: string, current: FieldTable, received: FieldTable, keys: readonly string[], defaults: FieldTable = {}): void {
  for (const key of keys) {
    const c = current[key];
    const r = received[key];
    if (c === undefined && r === undefined) continue;
    // a missing argument equals its default (x-queue-type classic), but errors show what was sent
    const def = defaults[key];
    if (def !== undefined && sameArgument(c ?? def, r ?? def)) continue;
    if (c !== undefined && r !== undefined) {
      if (sameArgument(c, r)) continue;
      throw preconditionFailed(`inequivalent arg '${key}' for ${what}: received '${printValue(r)}' but current is '${printValue(c)}'`);
    }
    throw preconditionFailed(`inequivalent arg '${key}' for ${what}: received ${describe(r)} but current is ${describe(c)}`);
  }
}

// ---- queue arguments ----

const AGE_UNITS: Readonly<Record<string, number>> = { Y: 365 * 86400e3, M: 30 * 86400e3, D: 86400e3, h: 3600e3, m: 60e3, s: 1e3 };

/**
 * An age such as "7D" or "1h" in ms, as RabbitMQ parses x-max-age and x-stream-offset intervals:
 * leading digits and a unit. 'invalid' for a bad unit or zero; 'crash' where RabbitMQ's parser
 * crashes (no leading digits), which it reports as a bare 541 INTERNAL_ERROR.
 */
export function parseAge(text: string): number | 'invalid' | 'crash' {
  const m = /^(\d*)([\s\S]*)$/.exec(text)!;
  if (m[1] === '') return 'crash';
  const n = Number(m[1]);
  const unit = AGE_UNITS[m[2]];
  return n === 0 || unit === undefined ? 'invalid' : n * unit;
}

/** Stream queue arguments RabbitMQ 3.10 refuses, and consumer arguments. */
const NOT_FOR_STREAMS = [
  'x-max-priority', 'x-overflow', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-message-ttl', 'x-expires', 'x-single-active-consumer',
  'x-queue-mode', 'x-delivery-limit', 'x-max-length', 'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-queue-master-locator', 'x-quorum-initial-group-size',
];
export const NOT_FOR_STREAM_CONSUMERS = ['x-priority', 'x-cancel-on-ha-failover'];


/** An invalid value: `reason` is the Erlang term RabbitMQ prints, already formatted. */
type Check = (f: FieldValue) => string | undefined;

const integer: Check = (f) => (INTEGER_TYPES.includes(f.type) ? undefined : `"expected integer, got ${FIELD_TYPE_NAMES[f.type]}"`);
const nonNegative: Check = (f) => integer(f) ?? (Number(f.value) < 0 ? `{value_negative,${f.value}}` : undefined);
const positive: Check = (f) => nonNegative(f) ?? (Number(f.value) === 0 ? `{value_zero,0}` : undefined);
const string: Check = (f) => (f.type === 'S' || f.type === 'x' ? undefined : `{unacceptable_type,${FIELD_TYPE_NAMES[f.type]}}`);
const oneOf =
  (values: readonly string[], reason: string): Check =>
  (f) =>
    string(f) ?? (values.includes(printValue(f)) ? undefined : reason);

const QUEUE_ARG_CHECKS: Readonly<Record<string, Check>> = {
  'x-expires': positive,
  'x-message-ttl': nonNegative,
  'x-max-length': nonNegative,
  'x-max-length-bytes': nonNegative,
  'x-max-priority': (f) => nonNegative(f) ?? (Number(f.value) > 255 ? `{value_too_large,${f.value},255}` : undefined),
  'x-dead-letter-exchange': string,
  'x-dead-letter-routing-key': string,
  'x-overflow': oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], 'invalid_overflow'),
  'x-queue-mode': oneOf(['default', 'lazy'], 'invalid_queue_mode'),
  'x-queue-type': (f) => string(f) ?? (['classic', 'quorum', 'stream'].includes(printValue(f)) ? undefined : `"unsupported queue type '${printValue(f)}'"`),
  'x-single-active-consumer': (f) => (f.type === 't' ? undefined : `{unacceptable_type,${FIELD_TYPE_NAMES[f.type]}}`),
  'x-delivery-limit': nonNegative,
  'x-max-age': (f) => {
    if (f.type !== 'S') return `{unacceptable_type,${FIELD_TYPE_NAMES[f.type]}}`;
    const age = parseAge(printValue(f));
    if (age === 'crash') throw internalError();
    return age === 'invalid' ? 'invalid_max_age' : undefined;
  },
  'x-stream-max-segment-size-bytes': nonNegative,
  'x-initial-cluster-size': positive,
  'x-queue-leader-locator': oneOf(['client-local', 'balanced', 'random', 'least-leaders'], 'invalid_queue_locator_arg'),
};

/** The queue arguments RabbitMQ compares when a queue is declared again. */
export const EQUIVALENT_QUEUE_ARGS = [
  'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length', 'x-max-length-bytes',
  'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-max-priority', 'x-overflow', 'x-queue-mode', 'x-single-active-consumer',
  'x-queue-type', 'x-quorum-initial-group-size', 'x-delivery-limit', 'x-max-age', 'x-stream-max-segment-size-bytes', 'x-initial-cluster-size',
  'x-queue-leader-locator',
];

/** A declared queue's type defaults to classic, so declaring it again with x-queue-type classic is equivalent. */
export const QUEUE_ARG_DEFAULTS: FieldTable = { 'x-queue-type': { type: 'S', value: 'classic' } };

export function validateQueueArgs(what: string, args: FieldTable): void {
  for (const key of Object.keys(args)) {
    const reason = QUEUE_ARG_CHECKS[key]?.(args[key]);
    if (reason !== undefined) throw preconditionFailed(`invalid arg '${key}' for ${what}: ${reason}`);
  }
}

// ---- exchange and binding arguments ----

export function validateExchangeArgs(what: string, args: FieldTable): void {
  const ae = args['alternate-exchange'];
  if (ae !== undefined && ae.type !== 'S') {
    throw preconditionFailed(`invalid type '${FIELD_TYPE_NAMES[ae.type]}' for arg 'alternate-exchange' in ${what}`);
  }
}

const X_MATCH = ['all', 'any', 'all-with-x', 'any-with-x'];

/** A headers binding's x-match, checked as RabbitMQ's headers exchange checks it. */
export function validateHeadersBinding(args: FieldTable): void {
  const m = args['x-match'];
  if (m === undefined) return;
  if (m.type !== 'S') {
    throw preconditionFailed(`Invalid x-match field type ${FIELD_TYPE_NAMES[m.type]} (value ${printValue(m)}); expected longstr`);
  }
  if (!X_MATCH.includes(printValue(m))) {
    throw preconditionFailed(`Invalid x-match field value <<"${printValue(m)}">>; expected all, any, all-with-x, or any-with-x`);
  }
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
  /** x-queue-type quorum: deliveries are counted (x-delivery-count) and limited (x-delivery-limit). */
  quorum: boolean;
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
    quorum: text('x-queue-type') === 'quorum',
    deliveryLimit: int('x-delivery-limit'),
  };
}

/** The declaration rules of stream queues, with RabbitMQ's texts and in its order. */
export function validateStreamDeclaration(what: string, d: { serverNamed: boolean; durable: boolean; exclusive: boolean; autoDelete: boolean; args: FieldTable }): void {
  if (d.serverNamed) throw preconditionFailed('Cannot declare a server-named queue for type rabbit_stream_queue');
  const segment = d.args['x-stream-max-segment-size-bytes'];
  if (segment !== undefined && Number(segment.value) > 3_000_000_000) throw preconditionFailed('Exceeded max value for x-stream-max-segment-size-bytes');
  for (const key of Object.keys(d.args)) {
    if (NOT_FOR_STREAMS.includes(key)) throw preconditionFailed(`invalid arg '${key}' for ${what} of queue type rabbit_stream_queue`);
  }
  if (d.autoDelete) throw preconditionFailed(`invalid property 'auto-delete' for ${what}`);
  if (d.exclusive) throw preconditionFailed(`invalid property 'exclusive-owner' for ${what}`);
  if (!d.durable) throw preconditionFailed(`invalid property 'non-durable' for ${what}`);
}

/** Arguments a quorum queue refuses (RabbitMQ 3.10). */
const NOT_FOR_QUORUM = ['x-max-priority', 'x-queue-mode'];

/** The declaration rules of quorum queues, with RabbitMQ's texts. */
export function validateQuorumDeclaration(what: string, d: { serverNamed: boolean; durable: boolean; exclusive: boolean; autoDelete: boolean; args: FieldTable }): void {
  if (d.serverNamed) throw preconditionFailed('Cannot declare a server-named queue for type rabbit_quorum_queue');
  if (!d.durable) throw preconditionFailed(`invalid property 'non-durable' for ${what}`);
  if (d.exclusive) throw preconditionFailed(`invalid property 'exclusive-owner' for ${what}`);
  if (d.autoDelete) throw preconditionFailed(`invalid property 'auto-delete' for ${what}`);
  for (const key of NOT_FOR_QUORUM) {
    if (d.args[key] !== undefined) throw preconditionFailed(`invalid arg '${key}' for ${what} of queue type rabbit_quorum_queue`);
  }
}
