// A virtual host: its exchanges, queues, bindings and policies, declared, deleted and routed through as
// RabbitMQ does. Permission checks go through the Access the caller passes (its user's, or unrestricted).
import { randomBytes } from 'node:crypto';
import { FIELD_TYPE_NAMES, type FieldTable } from '../protocol/field-table.js';
import type { Access } from './access.js';
import {
  QUEUE_ARG_DEFAULTS, assertArgsEquivalent, equivalentQueueArgs, type QueueType, assertField, printValue, queueTypeOf, validateExchangeArgs, validateHeadersBinding, validateQueueArgs,
  validateReplicatedDeclaration,
  checkMasterLocator,
} from './arguments.js';
import type { Clock } from './clock.js';
import { accessRefused, commandInvalid, notFound, preconditionFailed, resourceLocked } from './errors.js';
import { EXCHANGE_TYPES, bindingId, createExchange, type Binding, type Destination, type Exchange, type ExchangeType } from './exchange.js';
import type { Logger } from './logger.js';
import type { Message } from './message.js';
import { MessageCounters, announce, type ChurnCounters } from './observation.js';
import { REPLY_TO, routingKeysOf, senderSelected, withoutBcc, type PublishOutcome } from './publishing.js';
import { TRACE_EXCHANGE, deliverExtra, publishExtra, traceMessage, type TraceSource } from './trace.js';
import { Enqueued, Queue, type QueueHost } from './queue.js';
import { QuorumQueue } from './quorum.js';
import { StreamQueue } from './stream.js';
import { deadLettered, wouldCycle, type DeathReason } from './dead-letter.js';
import { compilePolicy, effectivePolicy, type CompiledPolicy, type Policy } from './policy.js';
import type { Definition, MessageStore, Pager, QueueLog } from './store.js';
import {
  bindingDefinition, bindingFromDefinition, exchangeDefinition, exchangeFromDefinition, policyDefinition, policyFromDefinition, queueDefinition, queueFromDefinition,
} from './definitions.js';

/** The exchanges every vhost has: the default one and RabbitMQ's amq.* set. */
const PREDECLARED: readonly [string, ExchangeType, boolean][] = [
  ['', 'direct', false],
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

export interface ExchangeDeclare {
  name: string;
  /** Who declared it (the management API shows it); absent for the broker's own. */
  user?: string;
  type: string;
  passive: boolean;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
}

export interface QueueDeclare {
  name: string;
  /** Who declared it (the management API shows it); absent for the broker's own. */
  user?: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  args: FieldTable;
  /** The declaring connection (owner of exclusive queues). */
  owner: object;
}

/** What a vhost needs of its broker. The broker itself is the owner named in observation events. */
export interface VhostContext {
  readonly clock: Clock;
  readonly store: MessageStore | undefined;
  /** Where queues that are not stored page out (the store, when there is one). */
  readonly pager: Pager | undefined;
  readonly logger: Logger;
  /** The node name trace copies carry. */
  readonly nodeName: string;
  readonly churn: ChurnCounters;
}

/**
 * RabbitMQ says "invalid" for a type that is an atom in its Erlang VM and "unknown" otherwise. Without
 * its atom table, names with characters atoms rarely have (x-delayed-message, direct2) count as unknown.
 */
function typeWord(type: string): string {
  return /[^a-zA-Z_]/.test(type) ? 'unknown' : 'invalid';
}

/** RabbitMQ's 22-character URL-safe base64 of 128 random bits, as in amq.gen-… and amq.ctag-… names. */
export function generatedName(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}

/** Where direct reply-to answers go: a session consuming from amq.rabbitmq.reply-to. */
export interface ReplyTarget {
  deliverReply(message: Message): void;
}

const REPLY_TO_PREFIX = `${REPLY_TO}.`;

/** The limits a vhost can have: RabbitMQ 3.10's vhost-limits. */
export const VHOST_LIMITS = ['max-connections', 'max-queues'] as const;
export type VhostLimit = (typeof VHOST_LIMITS)[number];

export class VirtualHost implements QueueHost {
  /**
   * The type a durable, non-exclusive, non-auto-delete queue declared without x-queue-type gets (its
   * vhost metadata's default_queue_type); set only when the vhost is made, as RabbitMQ sets it.
   */
  defaultQueueType: QueueType | undefined = undefined;
  /** RabbitMQ's vhost limits that are set (a negative value is no limit), in the order they were set. */
  readonly limits = new Map<VhostLimit, number>();
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  readonly policies = new Map<string, CompiledPolicy>();
  /** Direct reply-to consumers by the name their requests carry in reply_to. */
  readonly replyTargets = new Map<string, ReplyTarget>();
  readonly counters = new MessageCounters();
  /** Messages queues gave up on, by "queue type:reason:dead-letter strategy" (Prometheus's dead_lettered counters). */
  readonly deadLetterCounts = new Map<string, number>();
  /** RabbitMQ's trace_on: copies of what is published and delivered go to amq.rabbitmq.trace. */
  tracing = false;
  /** Octets of the connections to this vhost that have closed (open ones count their own). */
  closedOctets = { in: 0, out: 0 };
  readonly clock: Clock;
  private readonly store: MessageStore | undefined;
  /** Exclusive queues by owning connection, so a closing connection finds its own at once. */
  private readonly owned = new Map<object, Set<Queue>>();

  constructor(
    readonly name: string,
    /** The broker: named as the owner of the vhost's observation events. */
    readonly context: VhostContext,
    /** What the vhost is for, and its tags (RabbitMQ's vhost metadata). */
    public description = '',
    public tags: readonly string[] = [],
  ) {
    this.clock = context.clock;
    this.store = context.store;
    for (const [exchangeName, type, internal] of PREDECLARED) {
      this.exchanges.set(exchangeName, createExchange(exchangeName, type, { durable: true, autoDelete: false, internal, args: {} }));
    }
  }

  /** Brings back a definition the store recovered (without writing it again). */
  restore(d: Definition): void {
    const owner = {};
    switch (d.kind) {
      case 'exchange':
        return void this.createExchange(exchangeFromDefinition(d), false);
      case 'queue':
        return void this.createQueue({ ...queueFromDefinition(d), owner }, d.key, false);
      case 'binding': {
        const b = bindingFromDefinition(d);
        const source = this.exchanges.get(b.source);
        const destination = b.destinationKind === 'queue' ? this.queues.get(b.destination) : this.exchanges.get(b.destination);
        if (source && destination) this.bind(source, destination, b.routingKey, b.args, false);
        return;
      }
      case 'policy': {
        const compiled = compilePolicy(policyFromDefinition(d));
        // kept by a Warren that did not validate patterns yet: it would fail every declaration
        if ('error' in compiled) return this.context.logger.error({ vhost: this.name, policy: d.key, reason: compiled.error }, 'stored policy is invalid and is ignored');
        this.policies.set(d.key, compiled);
        return;
      }
      case 'vhost':
      case 'user':
      case 'permission':
        return;
    }
  }

  private describe(kind: 'exchange' | 'queue', name: string): string {
    return `${kind} '${name}' in vhost '${this.name}'`;
  }

  exchange(name: string): Exchange | undefined {
    return this.exchanges.get(name);
  }

  /** The exchange, or 404 as RabbitMQ words it. */
  existingExchange(name: string): Exchange {
    const e = this.exchanges.get(name);
    if (!e) throw notFound(`no ${this.describe('exchange', name)}`);
    return e;
  }

  // ---- exchanges ----

  /** In RabbitMQ's order: the type, the default exchange, configure access, then (if new) its name and arguments. */
  declareExchange(d: ExchangeDeclare, access: Access): Exchange {
    if (d.passive) {
      if (d.name === '') throw accessRefused('operation not permitted on the default exchange');
      return this.existingExchange(d.name);
    }
    if (!(EXCHANGE_TYPES as readonly string[]).includes(d.type)) throw commandInvalid(`${typeWord(d.type)} exchange type '${d.type}'`);
    if (d.name === '') throw accessRefused('operation not permitted on the default exchange');
    access.check('exchange', d.name, 'configure');
    const existing = this.exchanges.get(d.name);
    if (existing) {
      this.assertExchangeEquivalent(existing, d);
      return existing;
    }
    if (d.name.startsWith('amq.')) throw accessRefused(`exchange name '${d.name}' contains reserved prefix 'amq.*'`);
    validateExchangeArgs(this.describe('exchange', d.name), d.args);
    const ae = d.args['alternate-exchange'];
    if (ae !== undefined) {
      access.check('exchange', d.name, 'read');
      access.check('exchange', printValue(ae), 'write');
    }
    return this.createExchange(d, true);
  }

  private createExchange(d: ExchangeDeclare, save: boolean): Exchange {
    if (save && d.durable) this.store?.putDefinition(exchangeDefinition(this.name, d));
    const e = createExchange(d.name, d.type as ExchangeType, { durable: d.durable, autoDelete: d.autoDelete, internal: d.internal, args: d.args, createdBy: d.user });
    this.exchanges.set(d.name, e);
    this.applyExchangePolicy(e);
    announce('exchange', this.context, 'created', this.name, e);
    return e;
  }

  private assertExchangeEquivalent(e: Exchange, d: ExchangeDeclare): void {
    const what = this.describe('exchange', e.name);
    assertField(what, 'type', e.type, d.type);
    assertField(what, 'durable', e.options.durable, d.durable);
    assertField(what, 'auto_delete', e.options.autoDelete, d.autoDelete);
    assertField(what, 'internal', e.options.internal, d.internal);
    assertArgsEquivalent(what, e.options.args, d.args, ['alternate-exchange']);
  }

  deleteExchange(name: string, ifUnused: boolean, access: Access): void {
    if (name === '') throw accessRefused('operation not permitted on the default exchange');
    if (name.startsWith('amq.')) throw accessRefused(`deletion of system exchange '${name}' in vhost '${this.name}' not allowed`);
    access.check('exchange', name, 'configure');
    const e = this.exchanges.get(name);
    if (!e) return;
    if (ifUnused && e.bindings.size > 0) throw preconditionFailed(`${this.describe('exchange', name)} in use`);
    this.removeExchange(e);
  }

  private removeExchange(e: Exchange): void {
    if (e.options.durable) this.store?.deleteDefinition('exchange', this.name, e.name);
    this.exchanges.delete(e.name);
    for (const b of [...e.bindings.values()]) this.dropBinding(b);
    for (const b of [...e.incoming]) this.dropBinding(b);
    announce('exchange', this.context, 'deleted', this.name, e);
  }

  // ---- queues ----

  /** In RabbitMQ's order: the name, configure access, then an existing queue's equivalence or a new one's arguments. */
  declareQueue(d: QueueDeclare, access: Access): Queue {
    const q = this.declaredQueue(d, access);
    this.context.churn.queueDeclared++;
    return q;
  }

  private declaredQueue(d: QueueDeclare, access: Access): Queue {
    if (d.passive) {
      const q = this.queues.get(d.name);
      if (!q) throw notFound(`no ${this.describe('queue', d.name)}`);
      this.assertAccess(q, d.owner);
      q.touch();
      return q;
    }
    d = this.withDefaultQueueType(d);
    // even a queue of one's own: RabbitMQ checks the name before looking the queue up
    if (d.name.startsWith('amq.')) throw accessRefused(`queue name '${d.name}' contains reserved prefix 'amq.*'`);
    const type = queueTypeOf(d.args);
    if (d.name === '' && (type === 'quorum' || type === 'stream')) throw preconditionFailed(`Cannot declare a server-named queue for type rabbit_${type}_queue`);
    const name = d.name === '' ? generatedName('amq.gen') : d.name;
    // as in RabbitMQ, an exclusive queue is never durable
    if (d.exclusive) d = { ...d, durable: false };
    access.check('queue', name, 'configure');
    const existing = this.queues.get(name);
    if (existing) {
      // a non-passive declaration must also agree on exclusivity
      if (existing.options.owner === undefined && d.exclusive) throw this.locked(existing);
      if (existing.options.owner !== undefined && !d.exclusive) throw this.locked(existing);
      this.assertAccess(existing, d.owner);
      this.assertQueueEquivalent(existing, d);
      existing.touch();
      return existing;
    }
    const maxQueues = this.limits.get('max-queues');
    if (maxQueues !== undefined && maxQueues >= 0 && this.queues.size >= maxQueues) {
      throw preconditionFailed(`cannot declare queue '${name}': queue limit in vhost '${this.name}' (${maxQueues}) is reached`);
    }
    // the channel checks the dead-letter exchange's type before the queue checks its arguments
    const dlx = d.args['x-dead-letter-exchange'];
    if (dlx !== undefined && dlx.type !== 'S') {
      throw preconditionFailed(`invalid type '${FIELD_TYPE_NAMES[dlx.type]}' for arg 'x-dead-letter-exchange' in ${this.describe('queue', name)}`);
    }
    if (dlx !== undefined) {
      access.check('queue', name, 'read');
      access.check('exchange', printValue(dlx), 'write');
    }
    validateQueueArgs(this.describe('queue', name), d.args);
    if (type !== 'classic') validateReplicatedDeclaration(this.describe('queue', name), type, d);
    else if (!d.exclusive) checkMasterLocator(d.args);
    return this.createQueue(d, name, true);
  }

  /**
   * RabbitMQ's augment_declare_args: without x-queue-type, a declaration takes the vhost's default
   * queue type when that type can have such a queue (a quorum queue or stream is durable, not exclusive,
   * not auto-delete), and carries it as its x-queue-type argument.
   */
  private withDefaultQueueType(d: QueueDeclare): QueueDeclare {
    const type = this.defaultQueueType;
    if (type === undefined || d.args['x-queue-type'] !== undefined) return d;
    if (type !== 'classic' && !(d.durable && !d.exclusive && !d.autoDelete)) return d;
    return { ...d, args: { ...d.args, 'x-queue-type': { type: 'S', value: type } } };
  }

  private createQueue(d: QueueDeclare, name: string, save: boolean): Queue {
    const stored = this.store !== undefined && d.durable && !d.exclusive;
    if (stored && save) this.store!.putDefinition(queueDefinition(this.name, name, d));
    const type = queueTypeOf(d.args);
    // a queue that does not survive a restart still keeps its backlog out of memory (a stream, all in
    // memory anyway, needs its log only to survive)
    const log = stored ? this.store!.queueLog(this.name, name) : type === 'stream' ? undefined : this.context.pager?.pagingLog();
    const owner = d.exclusive ? d.owner : undefined;
    const options = { durable: d.durable, autoDelete: d.autoDelete, owner, args: d.args, createdBy: d.user, stored };
    const Type = type === 'stream' ? StreamQueue : type === 'quorum' ? QuorumQueue : Queue;
    const q = new Type(this.name, name, options, this, log);
    this.queues.set(name, q);
    if (owner !== undefined) {
      let mine = this.owned.get(owner);
      if (!mine) this.owned.set(owner, (mine = new Set()));
      mine.add(q);
    }
    this.context.churn.queueCreated++;
    announce('queue', this.context, 'created', this.name, q);
    return q;
  }

  /** Whether the queue's definition, and the bindings into it, survive a restart. */
  private stored(d: Destination): boolean {
    return this.store !== undefined && d.options.durable && (d.kind === 'exchange' || d.options.owner === undefined);
  }

  private assertQueueEquivalent(q: Queue, d: QueueDeclare): void {
    const what = this.describe('queue', q.name);
    assertField(what, 'durable', q.options.durable, d.durable);
    assertField(what, 'auto_delete', q.options.autoDelete, d.autoDelete);
    assertArgsEquivalent(what, q.options.args, d.args, equivalentQueueArgs(queueTypeOf(q.options.args)), QUEUE_ARG_DEFAULTS);
  }

  /** An exclusive queue is only for the connection that declared it. */
  assertAccess(q: Queue, owner: object): void {
    if (q.options.owner !== undefined && q.options.owner !== owner) throw this.locked(q);
  }

  private locked(q: Queue) {
    return resourceLocked(
      `cannot obtain exclusive access to locked ${this.describe('queue', q.name)}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
    );
  }

  /** The queue for a method that needs one, or 404. */
  existingQueue(name: string, owner: object): Queue {
    const q = this.queues.get(name);
    if (!q) throw notFound(`no ${this.describe('queue', name)}`);
    this.assertAccess(q, owner);
    return q;
  }

  /** queue.delete: the ready messages it held, or RabbitMQ's 406 when if-empty/if-unused forbid it. */
  deleteQueue(name: string, owner: object, ifUnused: boolean, ifEmpty: boolean): number {
    const q = this.queues.get(name);
    if (!q) return 0;
    this.assertAccess(q, owner);
    const count = q.deletion(ifUnused, ifEmpty);
    if (typeof count === 'string') throw preconditionFailed(`${this.describe('queue', name)} ${count}`);
    this.removeQueue(q);
    return count;
  }

  private removeQueue(q: Queue): void {
    if (q.deleted) return;
    if (this.stored(q)) this.store!.deleteDefinition('queue', this.name, q.name);
    q.deleted = true;
    this.queues.delete(q.name);
    if (q.options.owner !== undefined) {
      const mine = this.owned.get(q.options.owner);
      mine?.delete(q);
      if (mine?.size === 0) this.owned.delete(q.options.owner);
    }
    for (const b of [...q.bindings]) this.dropBinding(b);
    for (const c of [...q.consumers]) c.queueDeleted(q);
    q.purge();
    q.dispose();
    this.context.churn.queueDeleted++;
    announce('queue', this.context, 'deleted', this.name, q);
  }

  // ---- policies ----

  /** Adds or replaces a policy; it applies at once to the queues and exchanges it matches. Throws RabbitMQ's complaint about an invalid one. */
  setPolicy(policy: Policy): void {
    const compiled = compilePolicy(policy);
    if ('error' in compiled) throw new Error(compiled.error);
    this.store?.putDefinition(policyDefinition(this.name, policy));
    this.policies.set(policy.name, compiled);
    this.applyPolicies();
    this.context.logger.info({ vhost: this.name, policy: policy.name, pattern: policy.pattern, applyTo: policy.applyTo, priority: policy.priority }, 'policy set');
  }

  clearPolicy(name: string): void {
    if (!this.policies.has(name)) return;
    this.store?.deleteDefinition('policy', this.name, name);
    this.policies.delete(name);
    this.applyPolicies();
    this.context.logger.info({ vhost: this.name, policy: name }, 'policy cleared');
  }

  policyFor(q: Queue): Policy | undefined {
    return effectivePolicy(this.policies.values(), 'queue', q.name);
  }

  private applyPolicies(): void {
    for (const q of this.queues.values()) q.applyPolicy();
    for (const e of this.exchanges.values()) this.applyExchangePolicy(e);
  }

  private applyExchangePolicy(e: Exchange): void {
    const ae = effectivePolicy(this.policies.values(), 'exchange', e.name)?.definition['alternate-exchange'];
    e.policyAlternate = typeof ae === 'string' ? ae : undefined;
  }

  pagingLog(): QueueLog | undefined {
    return this.context.pager?.pagingLog();
  }

  queueUnused(q: Queue): void {
    this.removeQueue(q);
  }

  /** Republishes what `q` gives up on to its dead-letter exchange; dropped when it has none. */
  deadLetter(q: Queue, m: Message, reason: DeathReason): void {
    const dlxName = q.limits.deadLetterExchange;
    const key = `${q.type}:${reason}:${dlxName === undefined ? 'disabled' : 'at_most_once'}`;
    this.deadLetterCounts.set(key, (this.deadLetterCounts.get(key) ?? 0) + 1);
    if (dlxName === undefined) return;
    const dlx = this.exchanges.get(dlxName);
    if (!dlx) return;
    q.counters.deadLettered++;
    const dead = deadLettered(m, q.name, reason, dlxName, q.limits.deadLetterRoutingKey, this.clock.now());
    const targets = new Set<Queue>();
    this.route(dlx, dead, targets);
    for (const target of targets) if (!wouldCycle(dead, target.name)) target.enqueue(dead);
  }

  /** The vhost is deleted: its queues (with their logs), exchanges, bindings and policies go. */
  destroy(): void {
    for (const q of [...this.queues.values()]) this.removeQueue(q);
    for (const e of [...this.exchanges.values()]) if (!PREDECLARED.some(([name]) => name === e.name)) this.removeExchange(e);
    for (const name of [...this.policies.keys()]) this.clearPolicy(name);
  }

  /** Deletes the exclusive queues of a connection that has closed. */
  ownerGone(owner: object): void {
    const mine = this.owned.get(owner);
    if (mine === undefined) return;
    this.owned.delete(owner);
    for (const q of mine) this.removeQueue(q);
  }

  // ---- bindings ----

  bind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable, save = true): void {
    if (source.name === '' || (destination.kind === 'exchange' && destination.name === '')) {
      throw accessRefused('operation not permitted on the default exchange');
    }
    if (source.type === 'headers') validateHeadersBinding(args);
    const b: Binding = { source, destination, routingKey, args, id: bindingId(destination, routingKey, args) };
    if (source.bindings.has(b.id)) return;
    if (save && this.stored(source) && this.stored(destination)) this.store!.putDefinition(bindingDefinition(this.name, b));
    source.bind(b);
    if (destination.kind === 'queue') destination.bindings.add(b);
    else destination.incoming.add(b);
    announce('binding', this.context, 'created', this.name, b);
  }

  /** Removes a binding if it exists; the queue's exclusivity only matters when there is one to remove. */
  unbind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable, owner: object): void {
    const b = source.bindings.get(bindingId(destination, routingKey, args));
    if (!b) return;
    if (destination.kind === 'queue') this.assertAccess(destination, owner);
    this.dropBinding(b);
  }

  /** Removes a binding from both ends; an auto-delete source goes with its last binding. */
  private dropBinding(b: Binding): void {
    if (this.stored(b.source) && this.stored(b.destination)) this.store!.deleteDefinition('binding', this.name, bindingDefinition(this.name, b).key);
    b.source.unbind(b.id);
    if (b.destination.kind === 'queue') b.destination.bindings.delete(b);
    else b.destination.incoming.delete(b);
    announce('binding', this.context, 'deleted', this.name, b);
    const src = b.source;
    if (src.options.autoDelete && src.bindings.size === 0 && this.exchanges.get(src.name) === src) this.removeExchange(src);
  }

  // ---- publishing and routing ----

  /**
   * Routes a message and offers it to every queue it reaches (or to the direct reply-to consumer its
   * routing key names); what happened is left in `outcome`. `ttl` is its own expiration, already
   * checked. An exchange that no longer exists (a transaction committed after its deletion) routes
   * nowhere. With tracing on, `source` names the publisher in the trace copy.
   */
  publish(message: Message, ttl: number | undefined, mandatory: boolean, outcome: PublishOutcome, source?: TraceSource): void {
    outcome.clear();
    outcome.message = message;
    const counters = this.counters;
    counters.published++;
    counters.publishedBytes += message.body.length;
    if (message.exchange === '' && message.routingKey.startsWith(REPLY_TO_PREFIX)) {
      const target = this.replyTargets.get(message.routingKey);
      if (target) {
        outcome.replied = true;
        counters.routed++;
        target.deliverReply(message);
        return;
      }
    }
    const exchange = this.exchanges.get(message.exchange);
    const queues = outcome.queues;
    let delivered = message;
    if (exchange) {
      exchange.counters.published++;
      this.route(exchange, message, queues);
      // sender-selected distribution: CC and BCC headers name more routing keys; BCC is not delivered
      const extra = senderSelected(message);
      if (extra) {
        for (const key of extra.keys) this.route(exchange, message, queues, key);
        if (extra.bcc) delivered = withoutBcc(message, extra.keys);
      }
    }
    if (this.tracing && source) this.tracePublished(delivered, queues, source);
    if (queues.size === 0) {
      if (mandatory) counters.unroutableReturned++;
      else counters.unroutableDropped++;
      return;
    }
    counters.routed++;
    if (exchange) exchange.counters.routed++;
    for (const q of queues) {
      const flags = q.enqueue(delivered, ttl);
      outcome.flags |= flags;
      if ((flags & Enqueued.Stored) !== 0) outcome.logs.push(q.log!);
      if (q.overloaded) outcome.overloaded.push(q);
    }
  }

  // ---- the firehose ----

  private tracePublished(message: Message, queues: ReadonlySet<Queue>, source: TraceSource): void {
    if (message.exchange === TRACE_EXCHANGE) return;
    const keys = routingKeysOf(message);
    // RabbitMQ's default exchange routes to names, whether or not such queues exist
    const routed = message.exchange === '' ? new Set(keys) : new Set([...queues].map((q) => q.name));
    this.deliverTrace(traceMessage('publish', message.exchange, message, keys, this.context.nodeName, publishExtra(this.name, source, [...routed].sort())));
  }

  /** A delivery (to a consumer or basic.get) of `message` from `queue`, with tracing on. */
  traceDelivered(queue: Queue, message: Message, redelivered: boolean, source: TraceSource): void {
    if (message.exchange === TRACE_EXCHANGE) return;
    this.deliverTrace(traceMessage('deliver', queue.name, message, routingKeysOf(message), this.context.nodeName, deliverExtra(this.name, source, redelivered)));
  }

  /** The trace copy goes where amq.rabbitmq.trace routes it, as a message of the broker's own. */
  private deliverTrace(copy: Message): void {
    const exchange = this.exchanges.get(TRACE_EXCHANGE)!;
    const queues = new Set<Queue>();
    this.route(exchange, copy, queues);
    for (const q of queues) q.enqueue(copy);
  }

  /**
   * The queues a message published to `exchange` reaches: bindings followed through exchanges (each
   * exchange visited once, so cycles end), and the alternate exchange when nothing matched. They are
   * added to `queues`, which the caller reuses from message to message. `routingKey` is the message's
   * own unless it is routed again for a CC or BCC key.
   */
  route(exchange: Exchange, message: Message, queues: Set<Queue>, routingKey = message.routingKey): void {
    if (exchange.name === '') {
      const q = this.queues.get(routingKey);
      if (q) queues.add(q);
      return;
    }
    this.routeInto(exchange, message, routingKey, queues, new Set());
  }

  private routeInto(exchange: Exchange, message: Message, routingKey: string, queues: Set<Queue>, visited: Set<Exchange>): void {
    visited.add(exchange);
    const matched = new Set<Binding>();
    exchange.match(message, routingKey, matched);
    const before = queues.size;
    for (const b of matched) {
      const d = b.destination;
      if (d.kind === 'queue') queues.add(d);
      else if (!visited.has(d)) this.routeInto(d, message, routingKey, queues, visited);
    }
    if (queues.size === before) {
      const aeName = exchange.alternateExchange;
      const ae = aeName === undefined ? undefined : this.exchanges.get(aeName);
      if (ae && !visited.has(ae)) this.routeInto(ae, message, routingKey, queues, visited);
    }
  }
}
