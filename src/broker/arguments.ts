// Validation and comparison of queue and exchange arguments, with RabbitMQ's reply texts.
import { FIELD_TYPE_NAMES, type FieldTable, type FieldValue } from '../protocol/field-table.js';
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

export type QueueType = 'classic' | 'quorum' | 'stream';
const QUEUE_TYPES: readonly string[] = ['classic', 'quorum', 'stream'] satisfies QueueType[];

export function isQueueType(v: unknown): v is QueueType {
  return typeof v === 'string' && QUEUE_TYPES.includes(v);
}

/** A declaration's x-queue-type (classic when absent; validated before anything else). */
export function queueTypeOf(args: FieldTable): QueueType {
  const t = args['x-queue-type'];
  return t === undefined ? 'classic' : (printValue(t) as QueueType);
}

/** The queue and consumer arguments each queue type takes (RabbitMQ 3.10's queue type capabilities). */
const TYPE_ARGS: Readonly<Record<QueueType, { queue: readonly string[]; consumer: readonly string[] }>> = {
  classic: {
    queue: [
      'x-expires', 'x-message-ttl', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-length', 'x-max-length-bytes', 'x-max-priority',
      'x-overflow', 'x-queue-mode', 'x-queue-version', 'x-single-active-consumer', 'x-queue-type', 'x-queue-master-locator',
    ],
    consumer: ['x-cancel-on-ha-failover', 'x-priority', 'x-credit'],
  },
  quorum: {
    queue: [
      'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-dead-letter-strategy', 'x-expires', 'x-max-length', 'x-max-length-bytes',
      'x-max-in-memory-length', 'x-max-in-memory-bytes', 'x-overflow', 'x-single-active-consumer', 'x-queue-type', 'x-quorum-initial-group-size',
      'x-delivery-limit', 'x-message-ttl', 'x-queue-leader-locator',
    ],
    consumer: ['x-priority', 'x-credit'],
  },
  stream: {
    queue: ['x-max-length-bytes', 'x-queue-type', 'x-max-age', 'x-stream-max-segment-size-bytes', 'x-initial-cluster-size', 'x-queue-leader-locator'],
    consumer: ['x-stream-offset', 'x-credit'],
  },
};

/** Arguments some queue type knows: on a type that does not take them they are refused. */
const KNOWN_QUEUE_ARGS = new Set(Object.values(TYPE_ARGS).flatMap((t) => t.queue));
const KNOWN_CONSUMER_ARGS = new Set(Object.values(TYPE_ARGS).flatMap((t) => t.consumer));

/** An invalid value: the Erlang term RabbitMQ prints, already formatted; `args` is the whole table. */
type Check = (f: FieldValue, args: FieldTable) => string | undefined;

const unacceptable = (f: FieldValue) => `{unacceptable_type,${FIELD_TYPE_NAMES[f.type]}}`;
const integer: Check = (f) => (INTEGER_TYPES.includes(f.type) ? undefined : `"expected integer, got ${FIELD_TYPE_NAMES[f.type]}"`);
const nonNegative: Check = (f, args) => integer(f, args) ?? (Number(f.value) < 0 ? `{value_negative,${f.value}}` : undefined);
const positive: Check = (f, args) => nonNegative(f, args) ?? (Number(f.value) === 0 ? `{value_zero,0}` : undefined);
const bool: Check = (f) => (f.type === 't' ? undefined : unacceptable(f));
const longstr: Check = (f) => (f.type === 'S' ? undefined : unacceptable(f));
/** rabbit_misc:check_expiry: up to ten years. */
const expiry = (n: number) => (n < 0 ? `{value_negative,${n}}` : n > 315360000000 ? `{value_too_large,${n}}` : undefined);
const oneOf =
  (values: readonly string[], reason: (v: string) => string): Check =>
  (f) =>
    longstr(f, {}) ?? (values.includes(printValue(f)) ? undefined : reason(printValue(f)));

/** RabbitMQ's declare_args(): the checks, in the order it runs them. */
const DECLARE_CHECKS: readonly [string, Check][] = [
  ['x-expires', (f, args) => integer(f, args) ?? (Number(f.value) === 0 ? '{value_zero,0}' : expiry(Number(f.value)))],
  ['x-message-ttl', (f, args) => integer(f, args) ?? expiry(Number(f.value))],
  ['x-dead-letter-routing-key', (f, args) => longstr(f, args) ?? (args['x-dead-letter-exchange'] === undefined ? 'routing_key_but_no_dlx_defined' : undefined)],
  ['x-dead-letter-strategy', oneOf(['at-most-once', 'at-least-once'], () => 'invalid_dlx_strategy')],
  ['x-max-length', nonNegative],
  ['x-max-length-bytes', nonNegative],
  ['x-max-in-memory-length', nonNegative],
  ['x-max-in-memory-bytes', nonNegative],
  ['x-max-priority', (f, args) => nonNegative(f, args) ?? (Number(f.value) > 255 ? `{max_value_exceeded,${f.value}}` : undefined)],
  ['x-overflow', oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], () => 'invalid_overflow')],
  ['x-queue-mode', oneOf(['default', 'lazy'], (v) => `"unsupported queue mode '${v}'"`)],
  ['x-queue-version', (f, args) => nonNegative(f, args) ?? ([1, 2].includes(Number(f.value)) ? undefined : `"unsupported queue version '${f.value}'"`)],
  ['x-single-active-consumer', bool],
  ['x-queue-type', checkQueueType],
  ['x-quorum-initial-group-size', positive],
  ['x-max-age', (f) => {
    if (f.type !== 'S') return unacceptable(f);
    const age = parseAge(printValue(f));
    if (age === 'crash') throw internalError();
    return age === 'invalid' ? 'invalid_max_age' : undefined;
  }],
  ['x-stream-max-segment-size-bytes', nonNegative],
  ['x-initial-cluster-size', positive],
  ['x-queue-leader-locator', oneOf(['client-local', 'balanced', 'random', 'least-leaders'], () => 'invalid_queue_locator_arg')],
];

function checkQueueType(f: FieldValue): string | undefined {
  return longstr(f, {}) ?? (isQueueType(printValue(f)) ? undefined : `"unsupported queue type '${printValue(f)}'"`);
}

/** The queue arguments RabbitMQ compares when a queue is declared again: those its type takes, no others. */
export function equivalentQueueArgs(type: QueueType): readonly string[] {
  return TYPE_ARGS[type].queue;
}

/** A declared queue's type defaults to classic, so declaring it again with x-queue-type classic is equivalent. */
export const QUEUE_ARG_DEFAULTS: FieldTable = { 'x-queue-type': { type: 'S', value: 'classic' } };

/**
 * RabbitMQ's check_declare_arguments: x-queue-type first, then the checks of the arguments the type
 * takes (in RabbitMQ's order), then arguments only other types take are refused (in the client's order).
 */
export function validateQueueArgs(what: string, args: FieldTable): void {
  const invalid = (key: string, reason: string | undefined) => {
    if (reason !== undefined) throw preconditionFailed(`invalid arg '${key}' for ${what}: ${reason}`);
  };
  if (args['x-queue-type'] !== undefined) invalid('x-queue-type', checkQueueType(args['x-queue-type']));
  const type = queueTypeOf(args);
  const takes = TYPE_ARGS[type].queue;
  for (const [key, check] of DECLARE_CHECKS) if (args[key] !== undefined && takes.includes(key)) invalid(key, check(args[key], args));
  for (const key of Object.keys(args)) {
    if (KNOWN_QUEUE_ARGS.has(key) && !takes.includes(key)) throw preconditionFailed(`invalid arg '${key}' for ${what} of queue type rabbit_${type}_queue`);
  }
}

/** RabbitMQ's check_consume_arguments, for the type of queue consumed from. */
export function validateConsumerArgs(what: string, type: QueueType, args: FieldTable): void {
  const takes = TYPE_ARGS[type].consumer;
  const priority = args['x-priority'];
  if (priority !== undefined && takes.includes('x-priority')) {
    const reason = integer(priority, args);
    if (reason !== undefined) throw preconditionFailed(`invalid arg 'x-priority' for ${what}: ${reason}`);
  }
  const failover = args['x-cancel-on-ha-failover'];
  if (failover !== undefined && takes.includes('x-cancel-on-ha-failover')) {
    const reason = bool(failover, args);
    if (reason !== undefined) throw preconditionFailed(`invalid arg 'x-cancel-on-ha-failover' for ${what}: ${reason}`);
  }
  for (const key of Object.keys(args)) {
    if (KNOWN_CONSUMER_ARGS.has(key) && !takes.includes(key)) throw preconditionFailed(`invalid arg '${key}' for ${what} of queue type rabbit_${type}_queue`);
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

/** The x-queue-master-locator strategies RabbitMQ 3.10 registers. */
const MASTER_LOCATORS = ['client-local', 'min-masters', 'random'];

/**
 * rabbit_queue_master_location_misc places a new classic queue (not an exclusive one) by its
 * x-queue-master-locator, which no declare check looks at: any other value crashes the channel.
 */
export function checkMasterLocator(args: FieldTable): void {
  const locator = args['x-queue-master-locator'];
  if (locator !== undefined && !((locator.type === 'S' || locator.type === 'x') && MASTER_LOCATORS.includes(printValue(locator)))) throw internalError();
}

/**
 * The declaration rules of quorum and stream queues, after the argument checks, in RabbitMQ's order:
 * auto-delete, exclusive, non-durable (a server-named one was refused before anything else).
 */
export function validateReplicatedDeclaration(what: string, type: QueueType, d: { durable: boolean; exclusive: boolean; autoDelete: boolean; args: FieldTable }): void {
  if (d.autoDelete) throw preconditionFailed(`invalid property 'auto-delete' for ${what}`);
  if (d.exclusive) throw preconditionFailed(`invalid property 'exclusive-owner' for ${what}`);
  if (!d.durable) throw preconditionFailed(`invalid property 'non-durable' for ${what}`);
  if (type === 'stream') {
    const segment = d.args['x-stream-max-segment-size-bytes'];
    if (segment !== undefined && Number(segment.value) > 3_000_000_000) throw preconditionFailed('Exceeded max value for x-stream-max-segment-size-bytes');
  }
}
