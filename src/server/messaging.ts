// A channel's messaging methods: exchange, queue, basic, confirm and tx, driving the broker.
import { randomBytes } from 'node:crypto';
import { accessRefused, internalError, notAllowed, notFound, notImplemented, preconditionFailed } from '../broker/errors.js';
import { validateConsumerArgs } from '../broker/arguments.js';
import { parseStreamOffset, type StreamQueue } from '../broker/stream.js';
import { Message, contentHeaderOf, sortedTable, withHeader, type QueuedMessage } from '../broker/message.js';
import type { Consumer, Queue } from '../broker/queue.js';
import { REPLY_TO, generatedName, type Access, type ReplyTarget, type VirtualHost } from '../broker/virtual-host.js';
import type { MessageStore, SyncListener } from '../broker/store.js';
import { isIntegerField } from '../protocol/field-table.js';
import { writeDeliver } from '../protocol/fast-path.js';
import { CONTENT_HEADER_PREFIX_SIZE, contentBodySize, decodeContentHeader, writeBody, writeMethod, writeRawFrame } from '../protocol/frames.js';
import {
  BASIC_ACK,
  BASIC_CANCEL,
  BASIC_CANCEL_OK,
  BASIC_CONSUME,
  BASIC_CONSUME_OK,
  BASIC_DELIVER,
  BASIC_GET,
  BASIC_GET_EMPTY,
  BASIC_GET_OK,
  BASIC_NACK,
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_QOS_OK,
  BASIC_RECOVER,
  BASIC_RECOVER_ASYNC,
  BASIC_RECOVER_OK,
  BASIC_REJECT,
  BASIC_RETURN,
  CONFIRM_SELECT,
  CONFIRM_SELECT_OK,
  EXCHANGE_BIND,
  EXCHANGE_BIND_OK,
  EXCHANGE_DECLARE,
  EXCHANGE_DECLARE_OK,
  EXCHANGE_DELETE,
  EXCHANGE_DELETE_OK,
  EXCHANGE_UNBIND,
  EXCHANGE_UNBIND_OK,
  FLAG_EXPIRATION,
  FLAG_HEADERS,
  FLAG_REPLY_TO,
  FRAME_HEADER,
  QUEUE_BIND,
  QUEUE_BIND_OK,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  QUEUE_DELETE,
  QUEUE_DELETE_OK,
  QUEUE_PURGE,
  QUEUE_PURGE_OK,
  QUEUE_UNBIND,
  QUEUE_UNBIND_OK,
  ReplyCode,
  TX_COMMIT,
  TX_COMMIT_OK,
  TX_ROLLBACK,
  TX_ROLLBACK_OK,
  TX_SELECT,
  TX_SELECT_OK,
  type Method,
  type MethodArgs,
} from '../protocol/generated/spec.js';
import type { Connection } from './connection.js';
import { Deliveries, requeue, type Delivery } from './deliveries.js';

type PublishArgs = MethodArgs<typeof BASIC_PUBLISH>;
/** What happens to settled deliveries: acked, back into their queue, or off to the dead-letter exchange. */
type Outcome = 'ack' | 'requeue' | 'dead-letter';

const enum Mode {
  Plain,
  Confirm,
  Tx,
}

/** A basic.consume subscription: the broker's Consumer, delivering through this channel. */
class ChannelConsumer implements Consumer {
  unacked = 0;

  constructor(
    private readonly messaging: Messaging,
    readonly tag: string,
    readonly queue: Queue,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** Per-consumer prefetch (basic.qos global=false at consume time); 0 = unlimited. */
    readonly prefetch: number,
  ) {}

  ready(): boolean {
    if (!this.messaging.writable) return false;
    if (this.noAck) return true;
    if (this.prefetch !== 0 && this.unacked >= this.prefetch) return false;
    return this.messaging.hasChannelCredit();
  }

  deliver(queue: Queue, entry: QueuedMessage): void {
    this.messaging.deliver(this, queue, entry);
  }

  queueDeleted(): void {
    this.messaging.consumerCancelledByServer(this);
  }
}

export class Messaging implements SyncListener {
  private readonly deliveries = new Deliveries();
  private readonly consumers = new Map<string, ChannelConsumer>();
  /** basic.qos global=false: the prefetch given to consumers created from now on. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: a limit shared by all the channel's consumers. */
  private channelPrefetch = 0;
  private mode = Mode.Plain;
  /** Next publish sequence number in confirm mode. */
  private publishSeq = 1;
  /** Every publish up to this sequence number is confirmed... */
  private confirmedUpTo = 0;
  /** ...and the client has been told up to this one. */
  private confirmsSent = 0;
  /**
   * Confirms wait while a persistent message is not yet fsync'd: from the first such publish, every
   * publish up to `heldUpTo` waits, those up to `syncCovered` for the sync round under way.
   */
  private holding = false;
  private heldUpTo = 0;
  private syncCovered = 0;
  private lastStoredTag = 0;
  /** Publishes refused while confirms were held: nacked in order once the acks before them go. */
  private heldNacks: number[] = [];
  /** tx.commit-oks waiting for their publishes to be fsync'd. */
  private commitsSyncing = 0;
  private released = false;
  private txPublishes: { args: PublishArgs; header: Buffer; body: Buffer }[] = [];
  private txAcks: { tag: number; multiple: boolean; outcome: Outcome }[] = [];
  /** The last queue this channel declared, used when a method names the queue ''. */
  private lastQueue = '';
  /** Queues the current message routes to; one set reused for every publish. */
  private readonly routed = new Set<Queue>();
  private replyConsumer: (ReplyTarget & { tag: string; address: string }) | undefined;
  /** The exchange last found writable, so that a stream of publishes checks its permission once. */
  private writableExchange: string | undefined;
  /** The connection's user's permissions, as the broker asks for them. */
  private readonly access: Access = {
    check: (kind, name, permission) => {
      const user = this.connection.user!.name;
      const vhost = this.vhost.name;
      // the default exchange is amq.default to permissions
      const resource = kind === 'exchange' && name === '' ? 'amq.default' : name;
      if (!this.connection.ctx.permissions.allows(user, vhost, permission, resource)) {
        throw accessRefused(`access to ${kind} '${resource}' in vhost '${vhost}' refused for user '${user}'`);
      }
    },
  };

  constructor(
    private readonly connection: Connection,
    private readonly channel: number,
  ) {}

  private get vhost(): VirtualHost {
    return this.connection.vhost!;
  }

  private get store(): MessageStore | undefined {
    return this.connection.ctx.broker.store;
  }

  private reply<K extends Method['id']>(id: K, args: Partial<MethodArgs<K>>): void {
    this.connection.send(this.channel, id, args);
  }

  handle(method: Method): void {
    switch (method.id) {
      case EXCHANGE_DECLARE: {
        const a = method.args;
        this.vhost.declareExchange(
          { name: a.exchange, type: a.type, passive: a.passive, durable: a.durable, autoDelete: a.autoDelete, internal: a.internal, args: a.arguments },
          this.access,
        );
        if (!a.nowait) this.reply(EXCHANGE_DECLARE_OK, {});
        return;
      }
      case EXCHANGE_DELETE:
        this.vhost.deleteExchange(method.args.exchange, method.args.ifUnused, this.access);
        if (!method.args.nowait) this.reply(EXCHANGE_DELETE_OK, {});
        return;
      case EXCHANGE_BIND:
      case EXCHANGE_UNBIND: {
        const a = method.args;
        this.access.check('exchange', a.destination, 'write');
        if (a.source === '' || a.destination === '') throw accessRefused('operation not permitted on the default exchange');
        this.access.check('exchange', a.source, 'read');
        if (method.id === EXCHANGE_BIND) {
          const source = this.vhost.existingExchange(a.source);
          this.vhost.bind(source, this.vhost.existingExchange(a.destination), a.routingKey, a.arguments);
        } else {
          // unbinding what does not exist (even between missing exchanges) is fine
          const source = this.vhost.exchange(a.source);
          const destination = this.vhost.exchange(a.destination);
          if (source && destination) this.vhost.unbind(source, destination, a.routingKey, a.arguments, this.connection);
        }
        if (!a.nowait) this.reply(method.id === EXCHANGE_BIND ? EXCHANGE_BIND_OK : EXCHANGE_UNBIND_OK, {});
        return;
      }
      case QUEUE_DECLARE: {
        const a = method.args;
        const q = this.vhost.declareQueue(
          { name: a.queue, passive: a.passive, durable: a.durable, exclusive: a.exclusive, autoDelete: a.autoDelete, args: a.arguments, owner: this.connection },
          this.access,
        );
        this.lastQueue = q.name;
        if (!a.nowait) this.reply(QUEUE_DECLARE_OK, { queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
        return;
      }
      case QUEUE_BIND:
      case QUEUE_UNBIND: {
        const a = method.args;
        this.access.check('queue', this.queueName(a.queue), 'write');
        if (a.exchange === '') throw accessRefused('operation not permitted on the default exchange');
        this.access.check('exchange', a.exchange, 'read');
        if (method.id === QUEUE_BIND) {
          const source = this.vhost.existingExchange(a.exchange);
          this.vhost.bind(source, this.queue(a.queue), a.routingKey, a.arguments);
          if (!method.args.nowait) this.reply(QUEUE_BIND_OK, {});
        } else {
          // unbinding what does not exist (even a missing queue or exchange) is fine
          const source = this.vhost.exchange(a.exchange);
          const q = this.vhost.queues.get(this.queueName(a.queue));
          if (source && q) this.vhost.unbind(source, q, a.routingKey, a.arguments, this.connection);
          this.reply(QUEUE_UNBIND_OK, {});
        }
        return;
      }
      case QUEUE_PURGE: {
        this.access.check('queue', this.queueName(method.args.queue), 'read');
        const q = this.queue(method.args.queue);
        if (q.isStream) throw notImplemented(`queue.purge not supported by stream queues ${describeQueue(q)}`);
        const count = q.purge();
        if (!method.args.nowait) this.reply(QUEUE_PURGE_OK, { messageCount: count });
        return;
      }
      case QUEUE_DELETE: {
        const a = method.args;
        this.access.check('queue', this.queueName(a.queue), 'configure');
        const count = this.vhost.deleteQueue(this.queueName(a.queue), this.connection, a.ifUnused, a.ifEmpty);
        if (!a.nowait) this.reply(QUEUE_DELETE_OK, { messageCount: count });
        return;
      }
      case BASIC_QOS:
        if (method.args.prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${method.args.prefetchSize})`);
        if (method.args.global) this.channelPrefetch = method.args.prefetchCount;
        else {
          // as in RabbitMQ, a per-consumer prefetch lifts the channel-wide one
          this.consumerPrefetch = method.args.prefetchCount;
          this.channelPrefetch = 0;
        }
        this.reply(BASIC_QOS_OK, {});
        this.dispatchAll();
        return;
      case BASIC_CONSUME:
        return this.consume(method.args);
      case BASIC_CANCEL: {
        const c = this.consumers.get(method.args.consumerTag);
        if (c) this.removeConsumer(c);
        if (this.replyConsumer?.tag === method.args.consumerTag) this.cancelReplies();
        if (!method.args.nowait) this.reply(BASIC_CANCEL_OK, { consumerTag: method.args.consumerTag });
        return;
      }
      case BASIC_GET:
        return this.get(method.args);
      case BASIC_NACK:
        this.refuseStreamRejects(method.args.deliveryTag, method.args.multiple);
        return this.settle(method.args.deliveryTag, method.args.multiple, method.args.requeue ? 'requeue' : 'dead-letter');
      case BASIC_REJECT:
        this.refuseStreamRejects(method.args.deliveryTag, false);
        return this.settle(method.args.deliveryTag, false, method.args.requeue ? 'requeue' : 'dead-letter');
      case BASIC_RECOVER:
      case BASIC_RECOVER_ASYNC:
        if (!method.args.requeue) throw notImplemented('requeue=false');
        // RabbitMQ's channel crashes putting stream deliveries back
        if (this.deliveries.find(0, true, (q) => q.isStream)) throw internalError();
        requeue(this.deliveries.takeAll());
        if (method.id === BASIC_RECOVER) this.reply(BASIC_RECOVER_OK, {});
        return;
      case CONFIRM_SELECT:
        if (this.mode === Mode.Tx) throw preconditionFailed('cannot switch from tx to confirm mode');
        this.mode = Mode.Confirm;
        if (!method.args.nowait) this.reply(CONFIRM_SELECT_OK, {});
        return;
      case TX_SELECT:
        if (this.mode === Mode.Confirm) throw preconditionFailed('cannot switch from confirm to tx mode');
        this.mode = Mode.Tx;
        this.reply(TX_SELECT_OK, {});
        return;
      case TX_COMMIT:
        return this.commit();
      case TX_ROLLBACK:
        if (this.mode !== Mode.Tx) throw preconditionFailed('channel is not transactional');
        this.txPublishes = [];
        this.txAcks = [];
        this.reply(TX_ROLLBACK_OK, {});
        return;
      default:
        throw notImplemented(`method ${method.id.toString(16)}`);
    }
  }

  /** '' names the channel's last declared queue. */
  private queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === '') throw notFound('no previously declared queue');
    return this.lastQueue;
  }

  private queue(name: string): Queue {
    return this.vhost.existingQueue(this.queueName(name), this.connection);
  }

  // ---- publishing ----

  publish(args: PublishArgs, header: Buffer, body: Buffer): void {
    if (args.exchange !== this.writableExchange) {
      this.access.check('exchange', args.exchange, 'write');
      this.writableExchange = args.exchange;
    }
    const exchange = this.vhost.existingExchange(args.exchange);
    if (exchange.options.internal) {
      throw accessRefused(`cannot publish to internal exchange '${args.exchange}' in vhost '${this.vhost.name}'`);
    }
    if (args.immediate) throw notImplemented('immediate=true');
    const ttl = messageTtl(header);
    if (this.mode === Mode.Tx) {
      this.txPublishes.push({ args, header, body });
      return;
    }
    if (this.mode !== Mode.Confirm) {
      this.route(args, header, body, ttl);
      return;
    }
    const store = this.store;
    const appended = store?.appended;
    const accepted = this.route(args, header, body, ttl);
    const tag = this.publishSeq++;
    if (store !== undefined && store.appended !== appended) {
      this.lastStoredTag = tag;
      if (!this.holding) {
        this.holding = true;
        this.syncCovered = tag;
        store.afterSync(this);
      }
    }
    if (this.holding) {
      this.heldUpTo = tag;
      if (!accepted) this.heldNacks.push(tag);
    } else if (accepted) this.confirm(tag);
    else this.reject(tag);
  }

  /** A sync round has put the stored messages on disk: their confirms (or commit-ok) can go. */
  synced(): void {
    if (this.released) return;
    if (this.mode === Mode.Tx) {
      this.commitsSyncing--;
      this.reply(TX_COMMIT_OK, {});
      return;
    }
    const covered = this.syncCovered;
    if (this.lastStoredTag > covered) {
      // stored after the round began: another round
      this.releaseConfirms(covered);
      this.syncCovered = this.heldUpTo;
      this.store!.afterSync(this);
    } else {
      this.releaseConfirms(this.heldUpTo);
      this.holding = false;
    }
  }

  /** Confirms every held publish up to `upTo`, the refused ones with nacks. */
  private releaseConfirms(upTo: number): void {
    while (this.heldNacks.length > 0 && this.heldNacks[0] <= upTo) {
      const nack = this.heldNacks.shift()!;
      if (nack - 1 > this.confirmedUpTo) this.confirm(nack - 1);
      this.reject(nack);
    }
    if (upTo > this.confirmedUpTo) this.confirm(upTo);
  }

  // ---- publisher confirms ----

  /** Confirms are collected until the connection flushes, then sent as one ack with multiple, as RabbitMQ does. */
  private confirm(tag: number): void {
    if (this.confirmedUpTo === this.confirmsSent) this.connection.confirmsPending(this);
    this.confirmedUpTo = tag;
  }

  /** A publish a queue refused: the acks before it go out, then a nack for it alone. */
  private reject(tag: number): void {
    this.writeConfirms();
    this.connection.send(this.channel, BASIC_NACK, { deliveryTag: tag, multiple: false, requeue: false });
    this.confirmedUpTo = tag;
    this.confirmsSent = tag;
  }

  /** Writes the confirms collected since the last flush. */
  writeConfirms(): void {
    const upTo = this.confirmedUpTo;
    if (upTo === this.confirmsSent) return;
    writeMethod(this.connection.out, this.channel, BASIC_ACK, { deliveryTag: upTo, multiple: upTo > this.confirmsSent + 1 });
    this.confirmsSent = upTo;
  }

  /** Routes and enqueues; false when a queue refused the message (x-overflow reject-publish). */
  private route(args: PublishArgs, header: Buffer, body: Buffer, ttl: number | undefined): boolean {
    const exchange = this.vhost.exchange(args.exchange);
    const message = new Message(args.exchange, args.routingKey, this.withReplyTo(header), body);
    if (args.exchange === '' && args.routingKey.startsWith(`${REPLY_TO}.`)) {
      const target = this.vhost.replyTargets.get(args.routingKey);
      if (target) {
        target.deliverReply(message);
        return true;
      }
    }
    const queues = this.routed;
    queues.clear();
    let delivered = message;
    if (exchange) {
      this.vhost.route(exchange, message, queues);
      // sender-selected distribution: CC and BCC headers name more routing keys; BCC is not delivered
      const extra = senderSelected(message);
      if (extra) {
        for (const key of extra.keys) this.vhost.route(exchange, message, queues, key);
        if (extra.bcc) delivered = withoutBcc(message);
      }
    }
    if (queues.size === 0) {
      if (args.mandatory) this.sendContent(BASIC_RETURN, { replyCode: ReplyCode.NO_ROUTE, replyText: 'NO_ROUTE', exchange: args.exchange, routingKey: args.routingKey }, message);
      return true;
    }
    let accepted = true;
    for (const q of queues) {
      if (!q.enqueue(delivered, ttl)) accepted = false;
      if (q.overloaded) this.connection.waitFor(q);
    }
    return accepted;
  }

  private commit(): void {
    if (this.mode !== Mode.Tx) throw preconditionFailed('channel is not transactional');
    const publishes = this.txPublishes;
    const acks = this.txAcks;
    this.txPublishes = [];
    this.txAcks = [];
    const store = this.store;
    const appended = store?.appended;
    for (const p of publishes) this.route(p.args, p.header, p.body, messageTtl(p.header));
    for (const a of acks) this.apply(a.tag, a.multiple, a.outcome);
    // a commit with persistent messages, or behind one, is answered once they are on disk
    if (store !== undefined && (store.appended !== appended || this.commitsSyncing > 0)) {
      this.commitsSyncing++;
      store.afterSync(this);
    } else this.reply(TX_COMMIT_OK, {});
  }

  // ---- direct reply-to ----

  /** A request whose reply_to is amq.rabbitmq.reply-to gets this channel's reply address instead. */
  private withReplyTo(header: Buffer): Buffer {
    if ((header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_REPLY_TO) === 0) return header;
    const { properties } = decodeContentHeader(header);
    if (properties.replyTo !== REPLY_TO) return header;
    if (!this.replyConsumer) throw preconditionFailed('fast reply consumer does not exist');
    return contentHeaderOf({ ...properties, replyTo: this.replyConsumer.address }, contentBodySize(header));
  }

  private consumeReplies(a: MethodArgs<typeof BASIC_CONSUME>): void {
    if (!a.noAck) throw preconditionFailed('reply consumer cannot acknowledge');
    if (this.replyConsumer) throw preconditionFailed('reply consumer already set');
    const tag = a.consumerTag === '' ? generatedName('amq.ctag') : a.consumerTag;
    const address = `${REPLY_TO}.${randomBytes(18).toString('base64url')}`;
    this.replyConsumer = { tag, address, deliverReply: (m) => this.deliverReply(tag, m) };
    this.vhost.replyTargets.set(address, this.replyConsumer);
    if (!a.nowait) this.reply(BASIC_CONSUME_OK, { consumerTag: tag });
  }

  private deliverReply(tag: string, m: Message): void {
    const deliveryTag = this.deliveries.untracked();
    this.sendContent(BASIC_DELIVER, { consumerTag: tag, deliveryTag, redelivered: false, exchange: m.exchange, routingKey: m.routingKey }, m);
  }

  private cancelReplies(): void {
    if (!this.replyConsumer) return;
    this.vhost.replyTargets.delete(this.replyConsumer.address);
    this.replyConsumer = undefined;
  }

  // ---- consuming ----

  private consume(a: MethodArgs<typeof BASIC_CONSUME>): void {
    if (a.queue === REPLY_TO) return this.consumeReplies(a);
    const tag = a.consumerTag === '' ? generatedName('amq.ctag') : a.consumerTag;
    if (this.consumers.has(tag) || this.replyConsumer?.tag === tag) throw notAllowed(`attempt to reuse consumer tag '${tag}'`);
    this.access.check('queue', this.queueName(a.queue), 'read');
    const q = this.queue(a.queue);
    const what = describeQueue(q);
    const type = q.isStream ? 'stream' : q.limits.quorum ? 'quorum' : 'classic';
    // the queue's checks, in RabbitMQ's order: argument values, arguments of other queue types, then the type's own rules
    const start = type === 'stream' ? parseStreamOffset(a.arguments['x-stream-offset'], what) : undefined;
    validateConsumerArgs(what, type, a.arguments);
    if (type === 'stream') this.assertStreamConsumer(q, a);
    if (q.hasExclusiveConsumer || (a.exclusive && q.consumerCount > 0)) {
      throw accessRefused(`queue '${q.name}' in vhost '${this.vhost.name}' in exclusive use`);
    }
    const priorityArg = a.arguments['x-priority'];
    const priority = isIntegerField(priorityArg) ? Number(priorityArg.value) : 0;
    const c = new ChannelConsumer(this, tag, q, a.noAck, a.exclusive, priority, this.consumerPrefetch);
    this.consumers.set(tag, c);
    if (!a.nowait) this.reply(BASIC_CONSUME_OK, { consumerTag: tag });
    if (start !== undefined) (q as StreamQueue).attach(c, start);
    else q.addConsumer(c);
  }

  /** A stream consumer needs its own prefetch, manual acks, and no channel-wide prefetch. */
  private assertStreamConsumer(q: Queue, a: MethodArgs<typeof BASIC_CONSUME>): void {
    if (this.consumerPrefetch === 0) throw preconditionFailed(`consumer prefetch count is not set for '${describeQueue(q)}'`);
    if (a.noAck) throw notImplemented(`automatic acknowledgement not supported by stream queues ${describeQueue(q)}`);
    if (this.channelPrefetch !== 0) throw notImplemented(`${describeQueue(q)} does not support global qos`);
  }

  /** Stream deliveries cannot be nacked or rejected (an unknown tag is still the usual 406). */
  private refuseStreamRejects(tag: number, multiple: boolean): void {
    this.deliveries.check(tag, multiple);
    const stream = this.deliveries.find(tag, multiple, (q) => q.isStream);
    if (stream) throw notImplemented(`basic.nack and basic.reject not supported by stream queues ${describeQueue(stream)}`);
  }

  private removeConsumer(c: ChannelConsumer): void {
    this.consumers.delete(c.tag);
    c.queue.removeConsumer(c);
  }

  /** The queue went away: clients that understand it are told with basic.cancel. */
  consumerCancelledByServer(c: ChannelConsumer): void {
    this.consumers.delete(c.tag);
    if (this.connection.hasCapability('consumer_cancel_notify')) this.reply(BASIC_CANCEL, { consumerTag: c.tag, nowait: true });
  }

  get writable(): boolean {
    return this.connection.writable;
  }

  hasChannelCredit(): boolean {
    return this.channelPrefetch === 0 || this.deliveries.consumerUnacked < this.channelPrefetch;
  }

  deliver(c: ChannelConsumer, queue: Queue, entry: QueuedMessage): void {
    const tag = this.deliveries.add(queue, entry, c, !c.noAck);
    if (c.noAck) queue.discard(entry);
    else queue.delivered(entry);
    const m = deliveredMessage(queue, entry);
    const out = this.connection.out;
    writeDeliver(out, this.channel, c.tag, tag, entry.redelivered, m.exchange, m.routingKey);
    this.writeContent(m);
  }

  private get(a: MethodArgs<typeof BASIC_GET>): void {
    this.access.check('queue', this.queueName(a.queue), 'read');
    const q = this.queue(a.queue);
    if (q.isStream) throw notImplemented(`basic.get not supported by stream queues ${describeQueue(q)}`);
    const entry = q.take();
    if (!entry) {
      this.reply(BASIC_GET_EMPTY, { clusterId: '' });
      return;
    }
    const tag = this.deliveries.add(q, entry, undefined, !a.noAck);
    if (a.noAck) q.discard(entry);
    else q.delivered(entry);
    const m = deliveredMessage(q, entry);
    this.sendContent(
      BASIC_GET_OK,
      { deliveryTag: tag, redelivered: entry.redelivered, exchange: m.exchange, routingKey: m.routingKey, messageCount: q.messageCount },
      m,
    );
  }

  private sendContent<K extends typeof BASIC_DELIVER | typeof BASIC_GET_OK | typeof BASIC_RETURN>(id: K, args: MethodArgs<K>, m: Message): void {
    writeMethod(this.connection.out, this.channel, id, args as Partial<MethodArgs<K>>);
    this.writeContent(m);
  }

  /** The content header as the publisher sent it, then the body in frames. */
  private writeContent(m: Message): void {
    const out = this.connection.out;
    writeRawFrame(out, FRAME_HEADER, this.channel, m.header);
    writeBody(out, this.channel, m.body, this.connection.frameMax);
    this.connection.scheduleFlush();
  }

  // ---- acknowledgements ----

  /** basic.ack (requeue false), nack or reject; in a transaction, checked now and applied at commit. */
  settle(tag: number, multiple: boolean, outcome: Outcome): void {
    if (this.mode === Mode.Tx) {
      this.deliveries.check(tag, multiple);
      this.txAcks.push({ tag, multiple, outcome });
      return;
    }
    this.apply(tag, multiple, outcome);
  }

  private apply(tag: number, multiple: boolean, outcome: Outcome): void {
    const taken = this.deliveries.take(tag, multiple);
    if (outcome === 'requeue') requeue(taken);
    else {
      for (const d of taken) d.queue.discard(d.entry);
      if (outcome === 'dead-letter') for (const d of taken) this.vhost.deadLetter(d.queue, d.entry.message, 'rejected');
    }
    this.dispatchQueues(taken);
  }

  /** After acks, consumers may have credit again on the queues involved. */
  private dispatchQueues(taken: Delivery[]): void {
    const queues = new Set<Queue>();
    for (const d of taken) if (d.consumer) queues.add(d.queue);
    if (this.channelPrefetch !== 0) for (const c of this.consumers.values()) queues.add(c.queue);
    for (const q of queues) q.dispatch();
  }

  dispatchAll(): void {
    for (const c of this.consumers.values()) c.queue.dispatch();
  }

  /** Whether the oldest unacknowledged delivery is older than `timeoutMs`. */
  ackOverdue(now: number, timeoutMs: number): boolean {
    const oldest = this.deliveries.oldest;
    return oldest !== undefined && now - oldest > timeoutMs;
  }

  /** The channel is closing: consumers go and unacknowledged messages return to their queues. */
  release(): void {
    this.released = true;
    this.confirmsSent = this.confirmedUpTo; // a closed channel's pending confirms are never sent
    this.cancelReplies();
    for (const c of [...this.consumers.values()]) this.removeConsumer(c);
    requeue(this.deliveries.takeAll());
    this.txPublishes = [];
    this.txAcks = [];
  }
}

/** A queue as reply texts name it. */
function describeQueue(q: Queue): string {
  return `queue '${q.name}' in vhost '${q.vhostName}'`;
}

/** A message's own TTL from its expiration property, parsed as RabbitMQ parses it (or a 406). */
function messageTtl(header: Buffer): number | undefined {
  if ((header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_EXPIRATION) === 0) return undefined;
  const expiration = decodeContentHeader(header).properties.expiration ?? '';
  const m = /^([+-]?\d+)([\s\S]*)$/.exec(expiration);
  const reason = !m ? 'no_integer' : m[2] !== '' ? `{leftover_string,${JSON.stringify(m[2])}}` : Number(m[1]) < 0 ? `{value_negative,${Number(m[1])}}` : undefined;
  if (reason !== undefined) throw preconditionFailed(`invalid expiration '${expiration}': ${reason}`);
  return Number(m![1]);
}

/** What a consumer receives: the message, with x-delivery-count when it comes from a quorum queue. */
function deliveredMessage(q: Queue, entry: QueuedMessage): Message {
  return q.limits.quorum ? withHeader(entry.message, 'x-delivery-count', { type: 'l', value: entry.deliveryCount }) : entry.message;
}

const CC_BYTES = Buffer.from('CC');

/** The CC and BCC routing keys of a message (arrays of strings in its headers), if it has any. */
function senderSelected(m: Message): { keys: string[]; bcc: boolean } | undefined {
  // most messages have no headers, or none named CC/BCC: look at the bytes before decoding anything
  if ((m.header.readUInt16BE(CONTENT_HEADER_PREFIX_SIZE - 2) & FLAG_HEADERS) === 0 || !m.header.includes(CC_BYTES)) return undefined;
  const headers = m.properties.headers;
  if (!headers) return undefined;
  const keys: string[] = [];
  for (const name of ['CC', 'BCC']) {
    const list = headers[name];
    if (list?.type !== 'A') continue;
    for (const v of list.value) if (v.type === 'S') keys.push(String(v.value));
  }
  if (keys.length === 0 && headers.BCC === undefined) return undefined;
  return { keys, bcc: headers.BCC !== undefined };
}

/** The message with its BCC header removed, as RabbitMQ delivers it. */
function withoutBcc(m: Message): Message {
  const headers = { ...m.properties.headers };
  delete headers.BCC;
  return new Message(m.exchange, m.routingKey, contentHeaderOf({ ...m.properties, headers: sortedTable(headers) }, m.body.length), m.body);
}
