// A queue: ready messages in FIFO order, consumers served round-robin within the highest priority
// that has credit, and unacknowledged messages returned to their original place.
import type { FieldTable } from '../protocol/field-table.js';
import { queueLimits, type QueueLimits } from './arguments.js';
import type { DeathReason } from './dead-letter.js';
import type { Policy } from './policy.js';
import { FifoMessages, PriorityMessages, type ReadyMessages } from './ready-messages.js';
import type { Binding } from './exchange.js';
import type { Message, QueuedMessage } from './message.js';
import type { QueueLog } from './store.js';

/** What the broker needs of a consumer; the server's channel provides it. */
export interface Consumer {
  readonly tag: string;
  readonly priority: number;
  readonly exclusive: boolean;
  /** Whether it can take a message now (prefetch credit, flow). */
  ready(): boolean;
  deliver(queue: Queue, entry: QueuedMessage): void;
  /** The queue was deleted under the consumer. */
  queueDeleted(queue: Queue): void;
}

/** Told when a queue it waited on has worked its backlog down (publisher flow control). */
export interface FlowListener {
  queueDrained(queue: Queue): void;
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
  /** An auto-delete queue lost its last consumer, or an x-expires queue went unused too long. */
  queueUnused(q: Queue): void;
  /** A message the queue gives up on (expired, over its limit, rejected) goes to its dead-letter exchange. */
  deadLetter(q: Queue, m: Message, reason: DeathReason): void;
  /** The policy that applies to the queue now. */
  policyFor(q: Queue): Policy | undefined;
}

export interface QueueOptions {
  durable: boolean;
  autoDelete: boolean;
  /** The connection that owns an exclusive queue. */
  owner: object | undefined;
  args: FieldTable;
}

export class Queue {
  readonly kind = 'queue';
  readonly messages: ReadyMessages;
  readonly consumers: Consumer[] = [];
  /** Bindings into this queue (the default exchange's implicit one is not among them). */
  readonly bindings = new Set<Binding>();
  /** Delivered and not yet acknowledged. */
  unacked = 0;
  private nextSeq = 0;
  private roundRobin = 0;
  private hadConsumer = false;
  deleted = false;
  private flowWaiters: Set<FlowListener> | undefined;
  limits: QueueLimits;
  /** Body bytes of the ready messages in memory (for x-max-length-bytes, with the log's unread ones). */
  private bytes = 0;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = 0;
  private unusedTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly vhostName: string,
    readonly name: string,
    readonly options: QueueOptions,
    private readonly host: QueueHost,
    /**
     * Where messages beyond what the queue keeps in memory go, and, for a queue that survives a restart,
     * its persistent messages.
     */
    private readonly log?: QueueLog,
  ) {
    this.limits = queueLimits(options.args, host.policyFor(this));
    this.messages = this.limits.maxPriority === undefined ? new FifoMessages() : new PriorityMessages(this.limits.maxPriority);
    // a priority queue keeps everything in memory: its order is not the log's
    if (log !== undefined && this.limits.maxPriority !== undefined) this.load(Infinity, Infinity);
    this.touch();
  }

  /** The queue was used (declared, read with basic.get, left by its last consumer): x-expires starts again. */
  touch(): void {
    const { expires } = this.limits;
    if (expires === undefined || this.deleted) return;
    clearTimeout(this.unusedTimer);
    this.unusedTimer = undefined;
    if (this.consumers.length > 0) return;
    this.unusedTimer = setTimeout(() => this.host.queueUnused(this), expires);
    this.unusedTimer.unref();
  }

  /** Policies changed: the limits are worked out again (a priority queue stays one, as in RabbitMQ). */
  applyPolicy(): void {
    this.limits = queueLimits(this.options.args, this.host.policyFor(this));
    if (this.limits.overflow === 'drop-head') this.dropHeadOverLimit();
    this.touch();
  }

  /** The queue is gone: its timers and its log go too. */
  dispose(): void {
    clearTimeout(this.unusedTimer);
    clearTimeout(this.expiryTimer);
    this.unusedTimer = undefined;
    this.expiryTimer = undefined;
    this.log?.destroy();
  }

  /** Ready messages (expired ones are dropped first, as RabbitMQ does before it counts). */
  get deadLetterExchange(): string | undefined {
    return this.limits.deadLetterExchange;
  }

  get messageCount(): number {
    this.dropExpired();
    return this.readyCount;
  }

  /** Whether the queue comes back after a restart (durable, not exclusive) with its persistent messages. */
  private get persists(): boolean {
    return this.options.durable && this.options.owner === undefined;
  }

  /** Ready messages, in memory and in the log. */
  private get readyCount(): number {
    return this.messages.length + (this.log?.unread ?? 0);
  }

  private get readyBytes(): number {
    return this.bytes + (this.log?.unreadBytes ?? 0);
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
  discard(entry: QueuedMessage): void {
    if (entry.ref >= 0) this.log!.remove(entry.ref);
  }

  /** The message was delivered and awaits its ack: after a restart it comes back redelivered. */
  delivered(entry: QueuedMessage): void {
    if (entry.ref >= 0) this.log!.delivered(entry.ref);
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /**
   * Takes a message; false when the queue refuses it (x-overflow reject-publish on a full queue).
   * `ttl` is the message's own expiration, if it has one; the queue's x-message-ttl may be lower.
   */
  enqueue(message: Message, ttl?: number): boolean {
    const { messageTtl, maxLength, maxLengthBytes, overflow } = this.limits;
    const size = message.body.length;
    if (overflow !== 'drop-head' && this.full(size)) {
      if (overflow === 'reject-publish-dlx') this.host.deadLetter(this, message, 'maxlen');
      return false;
    }
    const life = messageTtl === undefined ? ttl : ttl === undefined ? messageTtl : Math.min(ttl, messageTtl);
    const log = this.log;
    // a quorum queue keeps every message, as its Raft log does
    const persistent = log !== undefined && this.persists && (message.persistent || this.limits.quorum);
    // with nothing queued, a ready consumer takes it at once (the only way a TTL 0 message gets through)
    if (this.readyCount === 0 && this.consumers.length > 0) {
      const consumer = this.nextConsumer();
      if (consumer) {
        const ref = persistent ? log.append(message, 0, true) : -1;
        consumer.deliver(this, { message, seq: this.nextSeq++, redelivered: false, expiresAt: 0, deliveryCount: 0, ref });
        return true;
      }
    }
    if (life === 0) return true;
    const expiresAt = life === undefined ? 0 : Date.now() + life;
    if (this.paging) log!.appendUnread(message, expiresAt, persistent);
    else {
      const ref = persistent ? log.append(message, expiresAt, true) : -1;
      this.messages.push({ message, seq: this.nextSeq++, redelivered: false, expiresAt, deliveryCount: 0, ref });
      this.bytes += size;
    }
    if (maxLength !== undefined || maxLengthBytes !== undefined) this.dropHeadOverLimit();
    if (life !== undefined) this.scheduleExpiry();
    if (this.consumers.length > 0) this.dispatch();
    return true;
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
      this.drop(this.removeHead(), 'maxlen');
    }
  }

  private drop(entry: QueuedMessage, reason: DeathReason): void {
    this.discard(entry);
    this.host.deadLetter(this, entry.message, reason);
  }

  /** The head, taken out; the log refills memory behind it. Only called when readyCount > 0. */
  private removeHead(): QueuedMessage {
    if (this.messages.length === 0) this.refill();
    const entry = this.messages.shift()!;
    this.bytes -= entry.message.body.length;
    this.refill();
    return entry;
  }

  /** Expired messages at the head are dropped; like RabbitMQ, messages behind the head wait their turn. */
  private dropExpired(): void {
    if (this.messages.length === 0) this.refill();
    let head = this.messages.peek();
    if (head === undefined || head.expiresAt === 0) return;
    const now = Date.now();
    while (head !== undefined && head.expiresAt !== 0 && head.expiresAt <= now) {
      this.drop(this.removeHead(), 'expired');
      head = this.messages.peek();
    }
  }

  /** One timer per queue, for the head's expiry, so expired messages go even when nobody looks. */
  private scheduleExpiry(): void {
    const head = this.messages.peek();
    if (head === undefined || head.expiresAt === 0) return;
    if (this.expiryTimer !== undefined && this.expiryAt <= head.expiresAt) return;
    clearTimeout(this.expiryTimer);
    this.expiryAt = head.expiresAt;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.dropExpired();
      this.scheduleExpiry();
      if (this.flowWaiters !== undefined && this.readyCount <= FLOW_LOW) this.releaseFlow();
    }, Math.max(0, head.expiresAt - Date.now()));
    this.expiryTimer.unref();
  }

  /** Delivers ready messages while some consumer has credit. */
  dispatch(): void {
    this.dropExpired();
    while (this.readyCount > 0) {
      const consumer = this.nextConsumer();
      if (!consumer) break;
      consumer.deliver(this, this.removeHead());
      this.dropExpired();
    }
    if (this.flowWaiters !== undefined && this.readyCount <= FLOW_LOW) this.releaseFlow();
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

  /** basic.get: the next ready message, counted as unacked by the caller when it needs an ack. */
  take(): QueuedMessage | undefined {
    this.touch();
    this.dropExpired();
    return this.readyCount === 0 ? undefined : this.removeHead();
  }

  /** Puts messages back where they were (by enqueue order), marked redelivered. */
  requeue(entries: QueuedMessage[]): void {
    const { quorum, deliveryLimit } = this.limits;
    if (quorum) {
      // a quorum queue counts returns; past x-delivery-limit the message is dead-lettered instead
      for (const e of entries) e.deliveryCount++;
      if (deliveryLimit !== undefined) {
        for (const e of entries) if (e.deliveryCount > deliveryLimit) this.drop(e, 'delivery_limit');
        entries = entries.filter((e) => e.deliveryCount <= deliveryLimit);
      }
    }
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

  /** A stream queue (see stream.ts) reads differently. */
  get isStream(): boolean {
    return false;
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
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (this.flowWaiters !== undefined) this.releaseFlow();
    return n;
  }
}
