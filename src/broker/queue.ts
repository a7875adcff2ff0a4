// A queue: ready messages in FIFO order, consumers served round-robin within the highest priority
// that has credit, and unacknowledged messages returned to their original place. This class is the
// classic queue type; quorum.ts and stream.ts change what differs (what each accepts, refuses and adds).
import type { FieldTable } from '../protocol/field-table.js';
import { validateConsumerArgs, type QueueType } from './arguments.js';
import type { Clock, Timer } from './clock.js';
import type { DeathReason } from './dead-letter.js';
import { accessRefused, notImplemented } from './errors.js';
import { queueLimits, type Policy, type QueueLimits } from './policy.js';
import { FifoMessages, PriorityMessages, type ReadyMessages } from './ready-messages.js';
import type { Binding } from './exchange.js';
import type { Message, QueuedMessage } from './message.js';
import { MessageCounters } from './observation.js';
import type { QueueLog } from './store.js';

/** What the broker needs of a consumer; the session provides it. */
export interface Consumer {
  readonly tag: string;
  readonly priority: number;
  readonly exclusive: boolean;
  /** Its messages are settled on delivery (no acknowledgement). */
  readonly noAck: boolean;
  /** Whether it can take a message now (prefetch credit, flow). */
  ready(): boolean;
  deliver(queue: Queue, entry: QueuedMessage): void;
  /** The queue was deleted under the consumer. */
  queueDeleted(queue: Queue): void;
}

/** What one queue did with a message it was offered (bit flags, combined over the queues routed to). */
export const enum Enqueued {
  Taken = 0,
  /** Refused: x-overflow reject-publish on a full queue. */
  Refused = 1,
  /** Written to a durable log: a confirm waits for the next fsync. */
  Stored = 2,
  /** Should have been stored, but the queue's log has failed: taken in memory only, never confirmed. */
  NotStored = 4,
}

/** Told when a queue it waited on has worked its backlog down (publisher flow control). */
export interface FlowListener {
  queueDrained(queue: Queue): void;
}

/** What happens to delivered messages when they are settled. */
export type Settlement = 'ack' | 'requeue' | 'dead-letter';

/** The prefetch a consumer asks with, for the queue types that have rules about it. */
export interface ConsumerCredit {
  noAck: boolean;
  /** basic.qos global=false in force: the consumer's own prefetch (0: none). */
  prefetch: number;
  /** basic.qos global=true in force (0: none). */
  channelPrefetch: number;
}

/**
 * Flow control, in the spirit of RabbitMQ's credit flow: a queue with consumers whose ready backlog
 * reaches FLOW_HIGH makes its publishers wait until it is down to FLOW_LOW, so that a publisher cannot
 * outrun the consumers without bound (and starve them of CPU on a small machine).
 */
export const FLOW_HIGH = 4000;
const FLOW_LOW = FLOW_HIGH / 2;

/**
 * A queue with a log keeps at most this many ready messages, or bytes of their bodies, in memory
 * (as RabbitMQ's classic queues do); the rest wait in the log and are read back as the head nears.
 */
const RESIDENT_MAX = 8192;
const RESIDENT_MAX_BYTES = 32 << 20;

/** What a queue needs of its vhost. */
export interface QueueHost {
  readonly clock: Clock;
  /** An auto-delete queue lost its last consumer, or an x-expires queue went unused too long. */
  queueUnused(q: Queue): void;
  /** A message the queue gives up on (expired, over its limit, rejected) goes to its dead-letter exchange. */
  deadLetter(q: Queue, m: Message, reason: DeathReason): void;
  /** The policy that applies to the queue now. */
  policyFor(q: Queue): Policy | undefined;
  /** Another empty log to keep messages out of memory (a priority level's), when the broker pages. */
  pagingLog(): QueueLog | undefined;
}

export interface QueueOptions {
  durable: boolean;
  autoDelete: boolean;
  /** The connection that owns an exclusive queue. */
  owner: object | undefined;
  args: FieldTable;
  /** Who declared it; undefined when restored at start-up. */
  createdBy?: string;
  /** Kept in the store, with its persistent messages (durable, not exclusive, and there is a store). */
  stored?: boolean;
}

export class Queue {
  readonly kind = 'queue';
  readonly type: QueueType = 'classic';
  readonly messages: ReadyMessages;
  readonly consumers: Consumer[] = [];
  /** Bindings into this queue (the default exchange's implicit one is not among them). */
  readonly bindings = new Set<Binding>();
  readonly counters = new MessageCounters();
  /** Delivered and not yet acknowledged, and their body bytes. */
  unacked = 0;
  unackedBytes = 0;
  private nextSeq = 0;
  private roundRobin = 0;
  private hadConsumer = false;
  deleted = false;
  private flowWaiters: Set<FlowListener> | undefined;
  limits: QueueLimits;
  /** Body bytes of the ready messages in memory (for x-max-length-bytes, with the log's unread ones). */
  private bytes = 0;
  private expiryTimer: Timer | undefined;
  private expiryAt = 0;
  private unusedTimer: Timer | undefined;
  protected readonly clock: Clock;

  constructor(
    readonly vhostName: string,
    readonly name: string,
    readonly options: QueueOptions,
    protected readonly host: QueueHost,
    /**
     * Where messages beyond what the queue keeps in memory go, and, for a queue that survives a restart,
     * its persistent messages.
     */
    readonly log?: QueueLog,
  ) {
    this.clock = host.clock;
    this.limits = queueLimits(options.args, host.policyFor(this));
    const max = this.limits.maxPriority;
    if (max === undefined) this.messages = new FifoMessages();
    else if (log === undefined || options.stored) {
      // a stored priority queue keeps everything in memory: its order is not the log's
      this.messages = new PriorityMessages(max);
      if (log !== undefined) this.load(Infinity, Infinity);
    } else {
      // one that does not survive a restart pages each level out on its own
      const paging = { open: () => host.pagingLog()!, seq: () => this.nextSeq++, residentMax: RESIDENT_MAX };
      this.messages = new PriorityMessages(max, paging);
    }
    this.touch();
  }

  /** The queue as reply texts name it. */
  get description(): string {
    return `queue '${this.name}' in vhost '${this.vhostName}'`;
  }

  /** The queue was used (declared, read with basic.get, left by its last consumer): x-expires starts again. */
  touch(): void {
    const { expires } = this.limits;
    if (expires === undefined || this.deleted) return;
    this.clock.cancel(this.unusedTimer);
    this.unusedTimer = undefined;
    if (this.consumers.length > 0) return;
    this.unusedTimer = this.clock.after(expires, () => this.host.queueUnused(this));
  }

  /** Policies changed: the limits are worked out again (a priority queue stays one, as in RabbitMQ). */
  applyPolicy(): void {
    this.limits = queueLimits(this.options.args, this.host.policyFor(this));
    if (this.limits.overflow === 'drop-head') this.dropHeadOverLimit();
    this.touch();
  }

  /** The queue is gone: its timers and its log go too. */
  dispose(): void {
    this.clock.cancel(this.unusedTimer);
    this.clock.cancel(this.expiryTimer);
    this.unusedTimer = undefined;
    this.expiryTimer = undefined;
    this.log?.destroy();
    this.messages.dispose();
  }

  /** The policy in effect (the management API shows it). */
  get policy(): Policy | undefined {
    return this.host.policyFor(this);
  }

  get deadLetterExchange(): string | undefined {
    return this.limits.deadLetterExchange;
  }

  /** Ready messages (expired ones are dropped first, as RabbitMQ does before it counts). */
  get messageCount(): number {
    this.dropExpired();
    return this.readyCount;
  }

  /** Whether the queue comes back after a restart with its persistent messages. */
  private get persists(): boolean {
    return this.options.stored === true;
  }

  /** Whether transient messages are stored too (a quorum queue's Raft log keeps every message). */
  protected get storesTransient(): boolean {
    return false;
  }

  /** Ready messages, in memory and in the log. */
  private get readyCount(): number {
    return this.messages.length + (this.log?.unread ?? 0);
  }

  private get readyBytes(): number {
    return this.bytes + (this.log?.unreadBytes ?? 0);
  }

  /** Where the ready messages are, for statistics: in memory, or only in the log (paged out). */
  get lengths(): { ready: number; readyBytes: number; resident: number; residentBytes: number; pagedOut: number; pagedOutBytes: number } {
    const pagedOut = (this.log?.unread ?? 0) + this.messages.pagedOut;
    const pagedOutBytes = (this.log?.unreadBytes ?? 0) + this.messages.pagedOutBytes;
    return { ready: this.readyCount, readyBytes: this.readyBytes, resident: this.messages.length - this.messages.pagedOut, residentBytes: this.bytes - this.messages.pagedOutBytes, pagedOut, pagedOutBytes };
  }

  /** Whether a new message goes to the log only: memory is full, or older ones are there already. */
  private get paging(): boolean {
    const log = this.log;
    return log !== undefined && this.limits.maxPriority === undefined && (log.unread > 0 || this.messages.length >= RESIDENT_MAX || this.bytes >= RESIDENT_MAX_BYTES);
  }

  /** Reads messages back from the log while memory has room for them. */
  private refill(): void {
    const log = this.log;
    if (log === undefined || log.unread === 0 || this.messages.length >= RESIDENT_MAX / 2) return;
    this.load(RESIDENT_MAX - this.messages.length, RESIDENT_MAX_BYTES - this.bytes);
  }

  private load(maxCount: number, maxBytes: number): void {
    let expiring = false;
    for (const m of this.log!.read(maxCount, Math.max(1, maxBytes))) {
      this.messages.push({ message: m.message, seq: this.nextSeq++, redelivered: m.redelivered, expiresAt: m.expiresAt, deliveryCount: 0, ref: m.ref });
      this.bytes += m.message.body.length;
      if (m.expiresAt !== 0) expiring = true;
    }
    if (expiring) this.scheduleExpiry();
  }

  /** The message left the queue for good (acked, delivered without ack, dropped, dead-lettered). */
  private discard(entry: QueuedMessage): void {
    if (entry.ref >= 0) this.log!.remove(entry.ref);
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /**
   * Takes a message, or refuses it (x-overflow reject-publish on a full queue); the Enqueued flags
   * say which, and whether it was stored. `ttl` is the message's own expiration, if it has one; the
   * queue's x-message-ttl may be lower.
   */
  enqueue(message: Message, ttl?: number): Enqueued {
    const { messageTtl, maxLength, maxLengthBytes, overflow } = this.limits;
    const size = message.body.length;
    if (overflow !== 'drop-head' && this.full(size)) {
      if (overflow === 'reject-publish-dlx') this.host.deadLetter(this, message, 'maxlen');
      return Enqueued.Refused;
    }
    this.counters.published++;
    this.counters.publishedBytes += size;
    const life = messageTtl === undefined ? ttl : ttl === undefined ? messageTtl : Math.min(ttl, messageTtl);
    const log = this.log;
    const persistent = log !== undefined && this.persists && (message.persistent || this.storesTransient);
    // with nothing queued, a ready consumer takes it at once (the only way a TTL 0 message gets through)
    if (this.readyCount === 0 && this.consumers.length > 0) {
      const consumer = this.nextConsumer();
      if (consumer) {
        const ref = persistent ? log.append(message, 0, true) : -1;
        this.handOut(consumer, { message, seq: this.nextSeq++, redelivered: false, expiresAt: 0, deliveryCount: 0, ref });
        return persistent ? (ref < 0 ? Enqueued.NotStored : Enqueued.Stored) : Enqueued.Taken;
      }
    }
    if (life === 0) return Enqueued.Taken;
    const expiresAt = life === undefined ? 0 : this.clock.now() + life;
    let ref = -1;
    if (this.paging) ref = log!.appendUnread(message, expiresAt, persistent);
    else {
      if (persistent) ref = log.append(message, expiresAt, true);
      this.messages.push({ message, seq: this.nextSeq++, redelivered: false, expiresAt, deliveryCount: 0, ref });
      this.bytes += size;
    }
    if (maxLength !== undefined || maxLengthBytes !== undefined) this.dropHeadOverLimit();
    if (life !== undefined) this.scheduleExpiry();
    if (this.consumers.length > 0) this.dispatch();
    return persistent ? (ref < 0 ? Enqueued.NotStored : Enqueued.Stored) : Enqueued.Taken;
  }

  /** Whether one more message of `size` bytes would go over x-max-length or x-max-length-bytes. */
  private full(size: number): boolean {
    const { maxLength, maxLengthBytes } = this.limits;
    return (maxLength !== undefined && this.readyCount >= maxLength) || (maxLengthBytes !== undefined && this.readyBytes + size > maxLengthBytes);
  }

  /** x-overflow drop-head: the oldest messages go until the queue fits its limits. */
  private dropHeadOverLimit(): void {
    const { maxLength, maxLengthBytes } = this.limits;
    while (this.readyCount > 0 && ((maxLength !== undefined && this.readyCount > maxLength) || (maxLengthBytes !== undefined && this.readyBytes > maxLengthBytes))) {
      const head = this.removeHead();
      if (head === undefined) break;
      this.drop(head, 'maxlen');
    }
  }

  protected drop(entry: QueuedMessage, reason: DeathReason): void {
    this.discard(entry);
    this.host.deadLetter(this, entry.message, reason);
  }

  /** The head, taken out; the log refills memory behind it. Undefined when the log cannot be read now. */
  private removeHead(): QueuedMessage | undefined {
    if (this.messages.length === 0) this.refill();
    const entry = this.messages.shift();
    if (entry === undefined) return undefined;
    this.bytes -= entry.message.body.length;
    this.refill();
    return entry;
  }

  /** Expired messages at the head are dropped; like RabbitMQ, messages behind the head wait their turn. */
  private dropExpired(): void {
    if (this.messages.length === 0) this.refill();
    let head = this.messages.peek();
    if (head === undefined || head.expiresAt === 0) return;
    const now = this.clock.now();
    while (head !== undefined && head.expiresAt !== 0 && head.expiresAt <= now) {
      this.drop(this.removeHead()!, 'expired');
      head = this.messages.peek();
    }
  }

  /** One timer per queue, for the head's expiry, so expired messages go even when nobody looks. */
  private scheduleExpiry(): void {
    const head = this.messages.peek();
    if (head === undefined || head.expiresAt === 0) return;
    if (this.expiryTimer !== undefined && this.expiryAt <= head.expiresAt) return;
    this.clock.cancel(this.expiryTimer);
    this.expiryAt = head.expiresAt;
    this.expiryTimer = this.clock.after(Math.max(0, head.expiresAt - this.clock.now()), () => {
      this.expiryTimer = undefined;
      this.dropExpired();
      this.scheduleExpiry();
      if (this.flowWaiters !== undefined && this.readyCount <= FLOW_LOW) this.releaseFlow();
    });
  }

  /** Delivers ready messages while some consumer has credit. */
  dispatch(): void {
    this.dropExpired();
    while (this.readyCount > 0) {
      const consumer = this.nextConsumer();
      if (!consumer) break;
      const head = this.removeHead();
      if (head === undefined) break;
      this.handOut(consumer, head);
      this.dropExpired();
    }
    if (this.flowWaiters !== undefined && this.readyCount <= FLOW_LOW) this.releaseFlow();
  }

  /** A message goes to a consumer: counted, marked in the log, then delivered. */
  private handOut(consumer: Consumer, entry: QueuedMessage): void {
    this.handedOut(entry, !consumer.noAck, false);
    consumer.deliver(this, entry);
  }

  /** Bookkeeping of a message leaving the ready list for a client: by consume or by get, acknowledged or not. */
  protected handedOut(entry: QueuedMessage, needsAck: boolean, byGet: boolean): void {
    const c = this.counters;
    if (byGet) needsAck ? c.got++ : c.gotNoAck++;
    else needsAck ? c.delivered++ : c.deliveredNoAck++;
    if (entry.redelivered) c.redelivered++;
    c.deliveredBytes += entry.message.body.length;
    if (!needsAck) return this.discard(entry);
    this.unacked++;
    this.unackedBytes += entry.message.body.length;
    if (entry.ref >= 0) this.log!.delivered(entry.ref);
  }

  /** Whether a publisher should wait for this queue (see FLOW_HIGH). */
  get overloaded(): boolean {
    return this.readyCount >= FLOW_HIGH && this.consumers.length > 0;
  }

  waitForDrain(listener: FlowListener): void {
    (this.flowWaiters ??= new Set()).add(listener);
  }

  stopWaiting(listener: FlowListener): void {
    this.flowWaiters?.delete(listener);
  }

  private releaseFlow(): void {
    const waiters = this.flowWaiters!;
    this.flowWaiters = undefined;
    for (const w of waiters) w.queueDrained(this);
  }

  /** Round-robin among the ready consumers of the highest priority that has one ready. */
  private nextConsumer(): Consumer | undefined {
    if (this.limits.singleActiveConsumer) {
      const active = this.consumers[0];
      return active !== undefined && active.ready() ? active : undefined;
    }
    const n = this.consumers.length;
    let best: Consumer | undefined;
    let bestIndex = -1;
    for (let i = 0; i < n; i++) {
      const index = (this.roundRobin + i) % n;
      const c = this.consumers[index];
      if ((best === undefined || c.priority > best.priority) && c.ready()) {
        best = c;
        bestIndex = index;
      }
    }
    if (best) this.roundRobin = (bestIndex + 1) % n;
    return best;
  }

  // ---- what the queue type allows ----

  /** basic.get, as the type allows it. */
  assertGettable(): void {}

  /** queue.purge, as the type allows it. */
  assertPurgeable(): void {}

  /** basic.nack and basic.reject of its deliveries, as the type allows them. */
  assertRejectable(): void {}

  /** basic.recover with its deliveries outstanding, as the type allows it. */
  assertRecoverable(): void {}

  /**
   * A consumer's request checked in RabbitMQ's order: the type's checks of its arguments and credit,
   * then exclusivity. Returns where the consumer starts (streams).
   */
  checkConsumer(args: FieldTable, credit: ConsumerCredit, exclusive: boolean): unknown {
    const start = this.consumerStart(args, credit);
    if (this.hasExclusiveConsumer || (exclusive && this.consumerCount > 0)) {
      throw accessRefused(`queue '${this.name}' in vhost '${this.vhostName}' in exclusive use`);
    }
    return start;
  }

  /** Argument values, then arguments only other queue types take. */
  protected consumerStart(args: FieldTable, _credit: ConsumerCredit): unknown {
    validateConsumerArgs(this.description, this.type, args);
    return undefined;
  }

  /** Adds a checked consumer (`start` is what checkConsumer returned). */
  attach(c: Consumer, _start: unknown): void {
    this.addConsumer(c);
  }

  /** What a consumer receives for a message (a quorum queue adds its delivery count). */
  outgoing(entry: QueuedMessage): Message {
    return entry.message;
  }

  /** queue.delete with its if-empty/if-unused conditions: the ready count it reports, or a reason to refuse. */
  deletion(ifUnused: boolean, ifEmpty: boolean): number | 'not empty' | 'in use' {
    if (ifEmpty && this.messageCount > 0) return 'not empty';
    if (ifUnused && this.consumerCount > 0) return 'in use';
    return this.messageCount;
  }

  // ---- taking and settling ----

  /** basic.get: the next ready message, handed out; undefined when there is none. */
  take(noAck: boolean): QueuedMessage | undefined {
    this.touch();
    this.dropExpired();
    if (this.readyCount === 0) {
      this.counters.gotEmpty++;
      return undefined;
    }
    const entry = this.removeHead();
    if (entry === undefined) {
      this.counters.gotEmpty++;
      return undefined;
    }
    this.handedOut(entry, !noAck, true);
    return entry;
  }

  /** Delivered messages come back from a client: acked, put back, or dead-lettered. */
  settle(entries: QueuedMessage[], how: Settlement): void {
    this.unacked -= entries.length;
    for (const e of entries) this.unackedBytes -= e.message.body.length;
    if (how === 'requeue') {
      // a deleted queue takes nothing back
      if (!this.deleted) this.requeue(entries);
      return;
    }
    if (how === 'ack') this.counters.acked += entries.length;
    for (const e of entries) {
      this.discard(e);
      if (how === 'dead-letter') this.host.deadLetter(this, e.message, 'rejected');
    }
  }

  /** Puts messages back where they were (by enqueue order), marked redelivered. */
  protected requeue(entries: QueuedMessage[]): void {
    if (entries.length === 0) return;
    for (const e of entries) {
      e.redelivered = true;
      this.bytes += e.message.body.length;
    }
    this.messages.putBack(entries);
    // a requeue into a full queue pushes out its head under drop-head; reject-publish lets it go over
    if (this.limits.overflow === 'drop-head') this.dropHeadOverLimit();
    this.scheduleExpiry();
    this.dispatch();
  }

  addConsumer(c: Consumer): void {
    this.consumers.push(c);
    this.hadConsumer = true;
    this.touch();
    this.dispatch();
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.roundRobin > i) this.roundRobin--;
    // without consumers nobody drains the backlog: publishers must not wait for it
    if (this.consumers.length === 0 && this.flowWaiters !== undefined) this.releaseFlow();
    if (this.consumers.length === 0 && this.hadConsumer && this.options.autoDelete) return this.host.queueUnused(this);
    if (this.consumers.length === 0) this.touch();
    // with a single active consumer, the next one in line takes over
    else if (i === 0 && this.limits.singleActiveConsumer) this.dispatch();
  }

  get hasExclusiveConsumer(): boolean {
    return this.consumers.some((c) => c.exclusive);
  }

  purge(): number {
    this.dropExpired();
    const n = this.readyCount;
    if (this.log !== undefined) {
      for (let e = this.messages.shift(); e !== undefined; e = this.messages.shift()) this.discard(e);
      this.log.removeUnread();
    }
    this.messages.clear();
    this.bytes = 0;
    this.clock.cancel(this.expiryTimer);
    this.expiryTimer = undefined;
    if (this.flowWaiters !== undefined) this.releaseFlow();
    return n;
  }
}

/** The queue types' refusals share RabbitMQ's wording. */
export function unsupported(what: string, q: Queue): never {
  throw notImplemented(`${what} not supported by ${q.type} queues ${q.description}`);
}
