// A client's session with a vhost: what RabbitMQ's channel process decides, without the wire. The
// declarations, bindings and deletions with their permission checks in RabbitMQ's order, consumers
// and their prefetch, publishing, basic.get, acknowledgements and redelivery, and direct reply-to.
// The AMQP channel translates frames into these calls; the HTTP API will make the same calls.
import { randomBytes } from 'node:crypto';
import { isIntegerField, type FieldTable } from '../protocol/field-table.js';
import { CONTENT_HEADER_PREFIX_SIZE, contentBodySize, decodeContentHeader } from '../protocol/frames.js';
import { FLAG_REPLY_TO } from '../protocol/generated/spec.js';
import type { Access } from './access.js';
import { Deliveries, type Delivery } from './deliveries.js';
import { accessRefused, notAllowed, notFound, notImplemented, preconditionFailed } from './errors.js';
import { Message, contentHeaderOf, type QueuedMessage } from './message.js';
import { MessageCounters, announce } from './observation.js';
import { REPLY_TO, asksForDirectReply, checkMessage, checkUserId, checkWellFormed, messageTtl, type PublishOutcome } from './publishing.js';
import type { Consumer, Queue, Settlement } from './queue.js';
import type { TraceSource } from './trace.js';
import { generatedName, type ExchangeDeclare, type QueueDeclare, type ReplyTarget, type VirtualHost } from './virtual-host.js';

/** Where a session's deliveries go: the AMQP channel writes them as basic.deliver frames. */
export interface SessionOutput {
  /** Whether deliveries may be written now (the connection's output is not backed up). */
  readonly writable: boolean;
  deliver(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message): void;
  /** The server cancelled a consumer (its queue went away). */
  consumerCancelled(consumerTag: string): void;
  /** The connection's name and the channel's number, as trace copies name them. */
  readonly connectionName?: string;
  readonly channelNumber?: number;
}

/** A session that never consumes (an HTTP request): nothing is ever delivered to it. */
export const NO_OUTPUT: SessionOutput = {
  writable: false,
  deliver: () => {},
  consumerCancelled: () => {},
};

/** What queue.declare-ok tells: a queue, or direct reply-to's pseudo-queue. */
export interface DeclaredQueue {
  readonly name: string;
  readonly messageCount: number;
  readonly consumerCount: number;
}

/** What basic.get hands over. */
export interface Got {
  /** 0 when no acknowledgement is expected. */
  readonly deliveryTag: number;
  readonly redelivered: boolean;
  readonly message: Message;
  /** Ready messages left in the queue. */
  readonly messageCount: number;
}

/**
 * RabbitMQ's strip_cr_lf: the names queue.declare, queue.delete, queue.bind/unbind, exchange.declare,
 * exchange.delete and exchange.bind/unbind take lose their CR and LF characters (other methods take
 * names as they come).
 */
const stripCrLf = (name: string) => (name.includes('\r') || name.includes('\n') ? name.replace(/[\r\n]/g, '') : name);

/** A basic.get, on the session's counters and on its vhost's. */
function countGot(counters: MessageCounters, noAck: boolean, redelivered: boolean, bytes: number): void {
  if (noAck) counters.gotNoAck++;
  else counters.got++;
  if (redelivered) counters.redelivered++;
  counters.deliveredBytes += bytes;
}

/** A basic.consume subscription. */
class SessionConsumer implements Consumer {
  unacked = 0;

  constructor(
    private readonly session: Session,
    readonly tag: string,
    readonly queue: Queue,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** Per-consumer prefetch (basic.qos global=false at consume time); 0 = unlimited. */
    readonly prefetch: number,
    /** Where a stream consumer starts reading. */
    readonly start: unknown,
    /** Its basic.consume arguments (shown by the management API). */
    readonly args: FieldTable,
  ) {}

  ready(): boolean {
    return this.session.hasCredit(this);
  }

  deliver(queue: Queue, entry: QueuedMessage): void {
    this.session.deliver(this, queue, entry);
  }

  queueDeleted(): void {
    this.session.consumerCancelledByServer(this);
  }
}

/** The direct reply-to pseudo-consumer of a session: its tag and the address its requests carry. */
interface ReplyConsumer extends ReplyTarget {
  readonly tag: string;
  readonly address: string;
}

export class Session {
  readonly counters = new MessageCounters();
  private readonly deliveries: Deliveries;
  private readonly consumers = new Map<string, SessionConsumer>();
  /** basic.qos global=false: the prefetch given to consumers created from now on. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: a limit shared by all the session's consumers. */
  private channelPrefetch = 0;
  /** The last queue this session declared, used when a method names the queue ''. */
  private lastQueue = '';
  /** The exchange last found writable, so that a stream of publishes checks its permission once. */
  private writableExchange: string | undefined;
  private replyConsumer: ReplyConsumer | undefined;
  private released = false;

  constructor(
    readonly vhost: VirtualHost,
    /** The user it acts for ('' for the broker itself). */
    readonly user: string,
    private readonly access: Access,
    /** The connection: exclusive queues belong to it. */
    readonly owner: object,
    private readonly output: SessionOutput,
  ) {
    this.deliveries = new Deliveries();
  }

  private get traceSource(): TraceSource {
    return { connection: this.output.connectionName ?? '', channel: this.output.channelNumber ?? 0, user: this.user };
  }

  /** '' names the session's last declared queue. */
  private queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === '') throw notFound('no previously declared queue');
    return this.lastQueue;
  }

  private queue(name: string): Queue {
    return this.vhost.existingQueue(this.queueName(name), this.owner);
  }

  // ---- exchanges, queues and bindings ----

  declareExchange(d: ExchangeDeclare): void {
    this.vhost.declareExchange({ ...d, name: stripCrLf(d.name), user: this.user }, this.access);
  }

  deleteExchange(exchange: string, ifUnused: boolean): void {
    const name = stripCrLf(exchange);
    this.vhost.deleteExchange(name, ifUnused, this.access);
  }

  /** exchange.bind (`bind` true) or exchange.unbind, checked as RabbitMQ checks them. */
  bindExchange(bind: boolean, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    const destination = stripCrLf(destinationName);
    const source = stripCrLf(sourceName);
    this.access.check('exchange', destination, 'write');
    if (source === '' || destination === '') throw accessRefused('operation not permitted on the default exchange');
    this.access.check('exchange', source, 'read');
    this.checkTopicRead(source, routingKey);
    if (bind) {
      const from = this.vhost.existingExchange(source);
      this.vhost.bind(from, this.vhost.existingExchange(destination), routingKey, args);
      return;
    }
    // unbinding what does not exist (even between missing exchanges) is fine
    const from = this.vhost.exchange(source);
    const to = this.vhost.exchange(destination);
    if (from && to) this.vhost.unbind(from, to, routingKey, args, this.owner);
  }

  /** Binding to or from a topic exchange needs topic read permission on the key (a missing exchange is not checked). */
  private checkTopicRead(exchangeName: string, routingKey: string): void {
    if (this.vhost.exchange(exchangeName)?.type === 'topic') this.access.checkTopic(exchangeName, routingKey, 'read');
  }

  declareQueue(d: Omit<QueueDeclare, 'owner'>): DeclaredQueue {
    const name = stripCrLf(d.name);
    // direct reply-to's pseudo-queue, and a live reply address, exist (one consumer, no messages)
    if (name.startsWith(REPLY_TO)) {
      if (name === REPLY_TO || this.vhost.replyTargets.has(name)) return { name, messageCount: 0, consumerCount: 1 };
      throw notFound(`no queue '${name}' in vhost '${this.vhost.name}'`);
    }
    const q = this.vhost.declareQueue({ ...d, name, owner: this.owner, user: this.user }, this.access);
    this.lastQueue = q.name;
    return q;
  }

  /** queue.bind (`bind` true) or queue.unbind, checked as RabbitMQ checks them. */
  bindQueue(bind: boolean, queueName: string, exchangeName: string, routingKey: string, args: FieldTable): void {
    const queue = stripCrLf(queueName);
    const exchange = stripCrLf(exchangeName);
    this.access.check('queue', this.queueName(queue), 'write');
    if (exchange === '') throw accessRefused('operation not permitted on the default exchange');
    this.access.check('exchange', exchange, 'read');
    this.checkTopicRead(exchange, routingKey);
    if (bind) {
      const source = this.vhost.existingExchange(exchange);
      this.vhost.bind(source, this.queue(queue), routingKey, args);
      return;
    }
    // unbinding what does not exist (even a missing queue or exchange) is fine
    const source = this.vhost.exchange(exchange);
    const q = this.vhost.queues.get(this.queueName(queue));
    if (source && q) this.vhost.unbind(source, q, routingKey, args, this.owner);
  }

  /** queue.purge: the ready messages removed. */
  purgeQueue(name: string): number {
    this.access.check('queue', this.queueName(name), 'read');
    const q = this.queue(name);
    q.assertPurgeable();
    return q.purge();
  }

  /** queue.delete: the ready messages it held. */
  deleteQueue(queueName: string, ifUnused: boolean, ifEmpty: boolean): number {
    const name = stripCrLf(queueName);
    this.access.check('queue', this.queueName(name), 'configure');
    return this.vhost.deleteQueue(this.queueName(name), this.owner, ifUnused, ifEmpty);
  }

  // ---- consumers ----

  /** basic.qos; consumers that gained credit receive again. */
  qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${prefetchSize})`);
    if (global) this.channelPrefetch = prefetchCount;
    else {
      // as in RabbitMQ, a per-consumer prefetch lifts the channel-wide one
      this.consumerPrefetch = prefetchCount;
      this.channelPrefetch = 0;
    }
    this.dispatchAll();
  }

  /**
   * basic.consume, checked: the consumer's tag. It receives nothing until `startConsuming(tag)`, so
   * that consume-ok goes out before its first delivery.
   */
  consume(queue: string, tag: string, noAck: boolean, exclusive: boolean, args: FieldTable): string {
    if (queue === REPLY_TO) return this.consumeReplies(tag, noAck);
    const consumerTag = tag === '' ? generatedName('amq.ctag') : tag;
    if (this.consumers.has(consumerTag) || this.replyConsumer?.tag === consumerTag) throw notAllowed(`attempt to reuse consumer tag '${consumerTag}'`);
    this.access.check('queue', this.queueName(queue), 'read');
    const q = this.queue(queue);
    const start = q.checkConsumer(args, { noAck, prefetch: this.consumerPrefetch, channelPrefetch: this.channelPrefetch }, exclusive);
    const priorityArg = args['x-priority'];
    const priority = isIntegerField(priorityArg) ? Number(priorityArg.value) : 0;
    this.consumers.set(consumerTag, new SessionConsumer(this, consumerTag, q, noAck, exclusive, priority, this.consumerPrefetch, start, args));
    return consumerTag;
  }

  startConsuming(tag: string): void {
    const c = this.consumers.get(tag);
    if (c === undefined) return;
    announce('consumer', this.vhost.context, 'created', this.vhost.name, c);
    c.queue.attach(c, c.start);
  }

  /** basic.cancel: an unknown tag is fine. */
  cancel(tag: string): void {
    const c = this.consumers.get(tag);
    if (c) this.removeConsumer(c);
    if (this.replyConsumer?.tag === tag) this.cancelReplies();
  }

  private removeConsumer(c: SessionConsumer): void {
    this.consumers.delete(c.tag);
    c.queue.removeConsumer(c);
    announce('consumer', this.vhost.context, 'deleted', this.vhost.name, c);
  }

  /** Deliveries awaiting their ack, in tag order (inspection). */
  get unacked(): Iterable<Delivery> {
    return this.deliveries.unsettled();
  }

  /**
   * Cancels a consumer from the broker's side, as when its queue is deleted: the client hears
   * basic.cancel (when it said it can). False when the session has no such consumer.
   */
  cancelByServer(tag: string): boolean {
    const c = this.consumers.get(tag);
    if (!c) return false;
    c.queue.removeConsumer(c);
    this.consumerCancelledByServer(c);
    return true;
  }

  /** The queue went away under a consumer. */
  consumerCancelledByServer(c: SessionConsumer): void {
    this.consumers.delete(c.tag);
    announce('consumer', this.vhost.context, 'deleted', this.vhost.name, c);
    this.output.consumerCancelled(c.tag);
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  /** The session's consumers (not direct reply-to), for observers. */
  get consumerList(): readonly SessionConsumer[] {
    return [...this.consumers.values()];
  }

  /** Deliveries awaiting an acknowledgement. */
  get unackedCount(): number {
    return this.deliveries.size;
  }

  /** basic.qos in force: the per-consumer prefetch, and the channel-wide one. */
  get prefetch(): { perConsumer: number; global: number } {
    return { perConsumer: this.consumerPrefetch, global: this.channelPrefetch };
  }

  hasCredit(c: SessionConsumer): boolean {
    if (!this.output.writable) return false;
    if (c.noAck) return true;
    if (c.prefetch !== 0 && c.unacked >= c.prefetch) return false;
    return this.channelPrefetch === 0 || this.deliveries.consumerUnacked < this.channelPrefetch;
  }

  deliver(c: SessionConsumer, queue: Queue, entry: QueuedMessage): void {
    const counters = this.counters;
    const node = this.vhost.counters;
    let tag: number;
    if (c.noAck) {
      tag = this.deliveries.untracked();
      counters.deliveredNoAck++;
      node.deliveredNoAck++;
    } else {
      tag = this.deliveries.track(queue, entry, c, this.vhost.clock.now());
      counters.delivered++;
      node.delivered++;
    }
    if (entry.redelivered) {
      counters.redelivered++;
      node.redelivered++;
    }
    const message = queue.outgoing(entry);
    counters.deliveredBytes += message.body.length;
    node.deliveredBytes += message.body.length;
    if (this.vhost.tracing) this.vhost.traceDelivered(queue, message, entry.redelivered, this.traceSource);
    this.output.deliver(c.tag, tag, entry.redelivered, message);
  }

  /** Consumers that found no credit or a full output try again (after acks, qos, a drained socket). */
  dispatchAll(): void {
    for (const c of this.consumers.values()) c.queue.dispatch();
  }

  // ---- direct reply-to ----

  private consumeReplies(tag: string, noAck: boolean): string {
    if (!noAck) throw preconditionFailed('reply consumer cannot acknowledge');
    if (this.replyConsumer) throw preconditionFailed('reply consumer already set');
    const consumerTag = tag === '' ? generatedName('amq.ctag') : tag;
    const address = `${REPLY_TO}.${randomBytes(18).toString('base64url')}`;
    this.replyConsumer = {
      tag: consumerTag,
      address,
      deliverReply: (m) => {
        this.counters.deliveredNoAck++;
        this.vhost.counters.deliveredNoAck++;
        this.output.deliver(consumerTag, this.deliveries.untracked(), false, m);
      },
    };
    this.vhost.replyTargets.set(address, this.replyConsumer);
    return consumerTag;
  }

  private cancelReplies(): void {
    if (!this.replyConsumer) return;
    this.vhost.replyTargets.delete(this.replyConsumer.address);
    this.replyConsumer = undefined;
  }

  /** A request whose reply_to is amq.rabbitmq.reply-to gets this session's reply address instead (checkPublish made sure it has one). */
  private withReplyTo(header: Buffer): Buffer {
    if (!this.replyConsumer || (header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_REPLY_TO) === 0) return header;
    const { properties } = decodeContentHeader(header);
    if (properties.replyTo !== REPLY_TO) return header;
    return contentHeaderOf({ ...properties, replyTo: this.replyConsumer.address }, contentBodySize(header));
  }

  // ---- publishing ----

  /**
   * The checks of basic.publish, in RabbitMQ's order (immediate, write permission, the exchange,
   * internal, topic permission, the properties decoded, direct reply-to, user_id, the expiration, then
   * what making the message refuses): the message's own TTL, when it has one.
   */
  checkPublish(exchangeName: string, routingKey: string, immediate: boolean, header: Buffer): number | undefined {
    // RabbitMQ refuses immediate before it looks at anything else
    if (immediate) throw notImplemented('immediate=true');
    if (exchangeName !== this.writableExchange) {
      this.access.check('exchange', exchangeName, 'write');
      this.writableExchange = exchangeName;
    }
    const exchange = this.vhost.existingExchange(exchangeName);
    if (exchange.options.internal) {
      throw accessRefused(`cannot publish to internal exchange '${exchangeName}' in vhost '${this.vhost.name}'`);
    }
    if (exchange.type === 'topic') this.access.checkTopic(exchangeName, routingKey, 'write');
    // a message without properties (most of them) has nothing more to check
    if (checkWellFormed(header) === 0) return undefined;
    if (!this.replyConsumer && asksForDirectReply(header)) throw preconditionFailed('fast reply consumer does not exist');
    // the broker's own sessions (definitions, tests) act for no one
    if (this.user !== '') checkUserId(header, this.user, this.access.mayImpersonate);
    const ttl = messageTtl(header);
    checkMessage(header);
    return ttl;
  }

  /** Routes a checked message (see checkPublish); what happened is left in `outcome`. */
  publish(exchange: string, routingKey: string, mandatory: boolean, header: Buffer, body: Buffer, ttl: number | undefined, outcome: PublishOutcome): void {
    const message = new Message(exchange, routingKey, this.withReplyTo(header), body);
    const counters = this.counters;
    counters.published++;
    counters.publishedBytes += body.length;
    this.vhost.publish(message, ttl, mandatory, outcome, this.vhost.tracing ? this.traceSource : undefined);
    if (outcome.unroutable) mandatory ? counters.unroutableReturned++ : counters.unroutableDropped++;
  }

  // ---- basic.get and acknowledgements ----

  /** basic.get: the next ready message, or undefined when the queue has none. */
  get(queueName: string, noAck: boolean): Got | undefined {
    this.access.check('queue', this.queueName(queueName), 'read');
    const q = this.queue(queueName);
    q.assertGettable();
    const entry = q.take(noAck);
    if (!entry) {
      this.counters.gotEmpty++;
      this.vhost.counters.gotEmpty++;
      return undefined;
    }
    const deliveryTag = noAck ? this.deliveries.untracked() : this.deliveries.track(q, entry, undefined, this.vhost.clock.now());
    const message = q.outgoing(entry);
    if (this.vhost.tracing) this.vhost.traceDelivered(q, message, entry.redelivered, this.traceSource);
    countGot(this.counters, noAck, entry.redelivered, message.body.length);
    countGot(this.vhost.counters, noAck, entry.redelivered, message.body.length);
    return { deliveryTag, redelivered: entry.redelivered, message, messageCount: q.messageCount };
  }

  /**
   * Checks an acknowledgement without applying it (inside a transaction, where it applies at commit):
   * an unknown tag is RabbitMQ's 406, and stream deliveries cannot be nacked or rejected.
   */
  checkSettle(tag: number, multiple: boolean, how: Settlement): void {
    this.deliveries.check(tag, multiple);
    if (how !== 'ack') for (const q of this.deliveries.queuesOf(tag, multiple)) q.assertRejectable();
  }

  /** basic.ack (how 'ack'), basic.nack and basic.reject: the deliveries named go where `how` says. */
  settle(tag: number, multiple: boolean, how: Settlement): void {
    if (how !== 'ack') this.checkSettle(tag, multiple, how);
    const taken = this.deliveries.take(tag, multiple);
    if (how === 'ack') {
      this.counters.acked += taken.length;
      this.vhost.counters.acked += taken.length;
    }
    settleAll(taken, how);
    this.dispatchAfter(taken);
  }

  /** basic.recover (requeue): every unacknowledged delivery goes back to its queue. */
  recover(requeue: boolean): void {
    if (!requeue) throw notImplemented('requeue=false');
    for (const q of this.deliveries.queuesOf(0, true)) q.assertRecoverable();
    settleAll(this.deliveries.takeAll(), 'requeue');
  }

  /** After acks, consumers may have credit again on the queues involved. */
  private dispatchAfter(taken: Delivery[]): void {
    if (taken.length === 1 && this.channelPrefetch === 0) {
      if (taken[0].consumer) taken[0].queue.dispatch();
      return;
    }
    const queues = new Set<Queue>();
    for (const d of taken) if (d.consumer) queues.add(d.queue);
    if (this.channelPrefetch !== 0) for (const c of this.consumers.values()) queues.add(c.queue);
    for (const q of queues) q.dispatch();
  }

  /** When the oldest unacknowledged delivery was made (by the broker's clock), or undefined. */
  get oldestUnacked(): number | undefined {
    return this.deliveries.oldest;
  }

  /** The session ends: consumers go, unacknowledged messages return to their queues. Runs once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.cancelReplies();
    for (const c of [...this.consumers.values()]) this.removeConsumer(c);
    settleAll(this.deliveries.takeAll(), 'requeue');
  }
}

/** Settles deliveries, each queue getting its own in one go (requeued ones keep their order). */
function settleAll(deliveries: Delivery[], how: Settlement): void {
  if (deliveries.length === 1) return deliveries[0].queue.settle([deliveries[0].entry], how);
  const byQueue = new Map<Queue, QueuedMessage[]>();
  for (const d of deliveries) {
    let list = byQueue.get(d.queue);
    if (!list) byQueue.set(d.queue, (list = []));
    list.push(d.entry);
  }
  for (const [q, entries] of byQueue) q.settle(entries, how);
}
