// A queue: ready messages in FIFO order, consumers served round-robin within the highest priority
// that has credit, and unacknowledged messages returned to their original place.
import type { FieldTable } from '../protocol/field-table.js';
import { Deque } from './deque.js';
import type { Binding } from './exchange.js';
import type { Message, QueuedMessage } from './message.js';

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

export interface QueueOptions {
  durable: boolean;
  autoDelete: boolean;
  /** The connection that owns an exclusive queue. */
  owner: object | undefined;
  args: FieldTable;
}

export class Queue {
  readonly kind = 'queue';
  readonly messages = new Deque<QueuedMessage>();
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

  constructor(
    readonly vhostName: string,
    readonly name: string,
    readonly options: QueueOptions,
    /** Called when the queue decides to go (auto-delete). */
    private readonly onAutoDelete: (q: Queue) => void,
  ) {}

  get messageCount(): number {
    return this.messages.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  enqueue(message: Message): void {
    this.messages.push({ message, seq: this.nextSeq++, redelivered: false });
    if (this.consumers.length > 0) this.dispatch();
  }

  /** Delivers ready messages while some consumer has credit. */
  dispatch(): void {
    while (this.messages.length > 0) {
      const consumer = this.nextConsumer();
      if (!consumer) break;
      const entry = this.messages.shift()!;
      consumer.deliver(this, entry);
    }
    if (this.flowWaiters !== undefined && this.messages.length <= FLOW_LOW) this.releaseFlow();
  }

  /** Whether a publisher should wait for this queue (see FLOW_HIGH). */
  get overloaded(): boolean {
    return this.messages.length >= FLOW_HIGH && this.consumers.length > 0;
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
    return this.messages.shift();
  }

  /** Puts messages back where they were (by enqueue order), marked redelivered. */
  requeue(entries: QueuedMessage[]): void {
    if (entries.length === 0) return;
    const back = entries.slice().sort((a, b) => a.seq - b.seq);
    for (const e of back) e.redelivered = true;
    const last = back[back.length - 1].seq;
    const head: QueuedMessage[] = [];
    while (this.messages.length > 0 && this.messages.peek()!.seq < last) head.push(this.messages.shift()!);
    const merged: QueuedMessage[] = [];
    let i = 0;
    let j = 0;
    while (i < back.length || j < head.length) {
      if (j >= head.length || (i < back.length && back[i].seq < head[j].seq)) merged.push(back[i++]);
      else merged.push(head[j++]);
    }
    for (let k = merged.length - 1; k >= 0; k--) this.messages.unshift(merged[k]);
    this.dispatch();
  }

  addConsumer(c: Consumer): void {
    this.consumers.push(c);
    this.hadConsumer = true;
    this.dispatch();
  }

  removeConsumer(c: Consumer): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.roundRobin > i) this.roundRobin--;
    // without consumers nobody drains the backlog: publishers must not wait for it
    if (this.consumers.length === 0 && this.flowWaiters !== undefined) this.releaseFlow();
    if (this.consumers.length === 0 && this.hadConsumer && this.options.autoDelete) this.onAutoDelete(this);
  }

  get hasExclusiveConsumer(): boolean {
    return this.consumers.some((c) => c.exclusive);
  }

  purge(): number {
    const n = this.messages.length;
    this.messages.clear();
    if (this.flowWaiters !== undefined) this.releaseFlow();
    return n;
  }
}
